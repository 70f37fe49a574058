// Where meshctl finds the operator credential: --token, MESHCTL_TOKEN, or the file the local control plane wrote (as kubectl finds a kubeconfig).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface FoundToken {
  token?: string;
  /** Where it came from, or every place looked at: said when the control plane refuses. */
  from: string;
}

/**
 * `--token` first, then MESHCTL_TOKEN, then the control plane's own setting when meshctl runs beside
 * it (in its container: MESH_OPERATOR_TOKEN, or the file MESH_OPERATOR_TOKEN_FILE names), then
 * `<data dir>/operator-token`: MESHCART_DATA_DIR if set (as for npm start), else the nearest
 * `.data/operator-token` from the working directory up.
 */
export function findOperatorToken(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): FoundToken {
  if (flag) return { token: flag, from: '--token' };
  if (env['MESHCTL_TOKEN']) return { token: env['MESHCTL_TOKEN'], from: 'MESHCTL_TOKEN' };
  if (env['MESH_OPERATOR_TOKEN']) return { token: env['MESH_OPERATOR_TOKEN'], from: 'MESH_OPERATOR_TOKEN' };
  const own = env['MESH_OPERATOR_TOKEN_FILE'] ? [resolve(cwd, env['MESH_OPERATOR_TOKEN_FILE'])] : [];
  const candidates = [...own, ...(env['MESHCART_DATA_DIR'] ? [join(resolve(cwd, env['MESHCART_DATA_DIR']), 'operator-token')] : upward(cwd))];
  for (const file of candidates) {
    if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), from: file };
  }
  return { from: `none found (looked for --token, MESHCTL_TOKEN, ${candidates.join(', ')})` };
}

function upward(from: string): string[] {
  const files: string[] = [];
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    files.push(join(dir, '.data', 'operator-token'));
    if (dirname(dir) === dir) return files;
  }
}
