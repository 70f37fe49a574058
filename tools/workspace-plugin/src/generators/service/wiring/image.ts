// The one MeshCart image: a role that runs the service (deploy/docker/src/roles.ts) and the folder its join credential is mounted at.
import type { Tree } from '@nx/devkit';
import { addToFlowList, insertBefore } from './text-blocks';
import { edit, type Wiring } from './context';

export const ROLES_FILE = 'deploy/docker/src/roles.ts';
export const DOCKERFILE = 'deploy/docker/Dockerfile';

export function addImageRole(tree: Tree, w: Wiring): void {
  const s = w.n.service;
  edit(tree, ROLES_FILE, (text) =>
    insertBefore(ROLES_FILE, text, /^ {2}meshctl: \{/, [
      `  '${s}': { entry: '${w.n.dir}/src/main.ts', summary: '${w.summary.replace(/'/g, "\\'")}', health: ready('PORT', ${w.port}) },`,
    ]),
  );
  edit(tree, DOCKERFILE, (text) => addToFlowList(DOCKERFILE, text, /require\('fs'\)\.mkdirSync\('\/join\/'/, `'${s}'`));
}
