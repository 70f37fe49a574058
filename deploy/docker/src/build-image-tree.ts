// Builds the folder the MeshCart image runs from: every process's entry bundled (workspace code
// inlined), the web dashboard built, the mesh profiles, and only the npm packages those bundles import. The Dockerfile runs
// this inside its build stage; the offline build runs it on the host (build-image.sh --offline).
//
//   node --import tsx deploy/docker/src/build-image-tree.ts [OUT_DIR]     (default dist/image)
import { build, type Metafile } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { ROLES } from './roles';

const root = resolve(import.meta.dirname, '../../..');
const out = resolve(root, process.argv[2] ?? 'dist/image');

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The npm packages a build imports at run time (Node's own modules left out). */
export function externalPackages(meta: Metafile): string[] {
  const builtins = new Set(builtinModules);
  const names = new Set<string>();
  for (const output of Object.values(meta.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || imp.path.startsWith('node:') || builtins.has(imp.path)) continue;
      names.add(packageName(imp.path));
    }
  }
  return [...names].sort();
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // One ESM file per role, code shared between them split into chunks; npm packages stay imports.
  const result = await build({
    entryPoints: Object.fromEntries([
      ...Object.entries(ROLES).map(([role, r]) => [role, join(root, r.entry)]),
      ['meshcart', join(root, 'deploy/docker/src/meshcart.ts')],
    ]),
    outdir: join(out, 'dist'),
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });

  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    engines: Record<string, string>;
  };
  const dependencies: Record<string, string> = {};
  for (const name of externalPackages(result.metafile)) {
    const range = rootPkg.dependencies[name];
    if (!range)
      throw new Error(`the image's code imports "${name}", which package.json's dependencies do not list (a devDependency used at run time?)`);
    dependencies[name] = range;
  }
  writeFileSync(
    join(out, 'package.json'),
    `${JSON.stringify({ name: 'meshcart-image', version: rootPkg.version, private: true, type: 'module', engines: rootPkg.engines, dependencies }, null, 2)}\n`,
  );
  cpSync(join(root, 'deploy/mesh'), join(out, 'mesh'), { recursive: true, filter: (src) => !src.endsWith('.md') });
  // The dashboard the control plane serves at its root (MESH_DASHBOARD_DIR defaults to dist/dashboard, under WORKDIR /app),
  // built by Vite from apps/dashboard into the workspace's dist/dashboard, then carried over.
  const { build: buildDashboard } = await import('vite');
  await buildDashboard({ configFile: join(root, 'apps/dashboard/vite.config.ts'), logLevel: 'warn' });
  cpSync(join(root, 'dist/dashboard'), join(out, 'dist/dashboard'), { recursive: true });

  // The workspace's installed packages, pruned by npm to what package.json above needs: no registry
  // is asked (the same installed versions the tests ran against, native builds included).
  cpSync(join(root, 'node_modules'), join(out, 'node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !/node_modules\/(\.bin|\.cache|\.package-lock\.json|meshctl)$/.test(src),
  });
  execFileSync('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts'], {
    cwd: out,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // better-sqlite3's C sources are only needed to compile it, which is done; prune leaves scope folders it emptied.
  for (const dir of ['deps', 'src']) rmSync(join(out, 'node_modules/better-sqlite3', dir), { recursive: true, force: true });
  for (const scope of readdirSync(join(out, 'node_modules')).filter((d) => d.startsWith('@'))) {
    if (readdirSync(join(out, 'node_modules', scope)).length === 0) rmdirSync(join(out, 'node_modules', scope));
  }
  if (!existsSync(join(out, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))) {
    throw new Error('better-sqlite3 has no compiled binary in node_modules: run npm ci first');
  }

  const packages = Object.keys(dependencies).join(', ');
  console.log(`image tree in ${out} (${((Date.now() - started) / 1000).toFixed(1)} s): ${Object.keys(ROLES).length} roles; packages: ${packages}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    console.error(`build-image-tree: ${err.message}`);
    process.exit(1);
  });
}
