// Builds the web dashboard (apps/dashboard → dist/dashboard) when it is missing or older than its sources, so `npm start` on a fresh clone serves it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARD_SOURCES = 'apps/dashboard';
export const DASHBOARD_OUT = 'dist/dashboard';

/** The newest modification time under `path` (a file or a folder), in ms; 0 if it does not exist. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), st.mtimeMs);
}

/** Whether dist/dashboard needs building: no index.html, or a source newer than it (tests and docs aside). */
export function dashboardIsStale(root: string): boolean {
  const built = join(root, DASHBOARD_OUT, 'index.html');
  if (!existsSync(built)) return true;
  const src = join(root, DASHBOARD_SOURCES);
  const inputs = [join(src, 'src'), join(src, 'index.html'), join(src, 'vite.config.ts')];
  return Math.max(...inputs.map(newest)) > statSync(built).mtimeMs;
}

/**
 * Builds the dashboard with Vite's programmatic build if it is stale; says so through `onProgress`.
 * Returns the folder the control plane serves. Vite is a development dependency: images carry the
 * dashboard built (deploy/docker/src/build-image-tree.ts), so nothing builds at run time there.
 */
export async function ensureDashboard(root: string, onProgress: (message: string) => void = () => undefined): Promise<string> {
  const out = join(root, DASHBOARD_OUT);
  if (!dashboardIsStale(root)) return out;
  const started = Date.now();
  onProgress(`building the dashboard (${DASHBOARD_SOURCES} → ${DASHBOARD_OUT}) ...`);
  const { build } = await import('vite');
  await build({ configFile: join(root, DASHBOARD_SOURCES, 'vite.config.ts'), logLevel: 'warn' });
  onProgress(`dashboard built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}
