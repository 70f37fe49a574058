// The operator credential: MESH_OPERATOR_TOKEN, or one made on first start into a 0600 file that meshctl finds (as a kubeconfig is found).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Tokens shorter than this are refused: an operator credential must not be guessable. */
export const MIN_OPERATOR_TOKEN = 24;

export function operatorTokenFrom(env: { token?: string; file: string }): string {
  if (env.token !== undefined) {
    if (env.token.length < MIN_OPERATOR_TOKEN)
      throw new Error(`MESH_OPERATOR_TOKEN is ${env.token.length} characters; use at least ${MIN_OPERATOR_TOKEN} (e.g. openssl rand -base64 32)`);
    return env.token;
  }
  if (existsSync(env.file)) {
    // Only its owner may read it, as ssh insists for a private key.
    if ((statSync(env.file).mode & 0o077) !== 0) chmodSync(env.file, 0o600);
    const token = readFileSync(env.file, 'utf8').trim();
    if (token.length >= MIN_OPERATOR_TOKEN) return token;
  }
  mkdirSync(dirname(env.file), { recursive: true });
  const token = `mco_${randomBytes(32).toString('base64url')}`;
  writeFileSync(env.file, `${token}\n`, { mode: 0o600 });
  return token;
}
