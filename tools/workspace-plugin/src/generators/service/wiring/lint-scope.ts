// eslint.config.js: the service's scope may import only itself, shared code and the mesh library.
import type { Tree } from '@nx/devkit';
import { insertAfterLast } from './text-blocks';
import { edit, type Wiring } from './context';

export const ESLINT_FILE = 'eslint.config.js';

/** A service scope's rule, as the existing ones read: `{ sourceTag: 'scope:user', onlyDependOnLibsWithTags: ['scope:user', …] },`. */
const SERVICE_RULE = /^\s*\{ sourceTag: 'scope:([a-z0-9-]+)', onlyDependOnLibsWithTags: \['scope:\1', 'scope:shared', 'scope:mesh'\] \},$/;

export function addLintScope(tree: Tree, w: Wiring): void {
  edit(tree, ESLINT_FILE, (text) =>
    insertAfterLast(ESLINT_FILE, text, SERVICE_RULE, [
      `  { sourceTag: '${w.n.scope}', onlyDependOnLibsWithTags: ['${w.n.scope}', 'scope:shared', 'scope:mesh'] },`,
    ]),
  );
}
