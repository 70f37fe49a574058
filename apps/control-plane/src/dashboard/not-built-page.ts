// What the control plane's root answers when the dashboard has not been built: how to build it, instead of a bare 404.

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function notBuiltPage(dir: string | undefined): string {
  const where = dir ? `<code>${escape(dir)}</code> holds no <code>index.html</code>` : 'this control plane was started without a dashboard folder';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MeshCart dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; line-height: 1.5">
<h1>MeshCart: the dashboard is not built</h1>
<p>The control plane is running, but ${where}.</p>
<p>Build it from the repository root with <code>npx nx build dashboard</code> (or restart <code>npm start</code>, which builds it when missing),
then reload this page. Point the control plane at another folder with <code>MESH_DASHBOARD_DIR</code>.</p>
<p>The API works meanwhile: <a href="/api/v1/proxies">/api/v1/proxies</a>.</p>
</body></html>
`;
}
