// Builds a process's TypeScript entry into one JavaScript file, so benchmarks measure the code as it ships, not the tsx loader.
import { workspaceRoot } from '@meshcart/service-kit';
import { build } from 'esbuild';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Bundles `entry` (a workspace path) with the workspace's own code inlined and npm packages left as
 * imports. The file lands under dist/ inside the workspace so those imports resolve from its
 * node_modules. Running through tsx instead would add ~25 MB of RSS and a transform step to every
 * Node process compared, which is not what a deployed sidecar carries.
 */
export async function bundleEntry(entry: string): Promise<string> {
  const root = workspaceRoot();
  const name = `${basename(dirname(dirname(entry)))}-${basename(entry, '.ts')}`;
  const outfile = join(root, 'dist', 'bench', `${name}.mjs`);
  await build({
    entryPoints: [resolve(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  return outfile;
}
