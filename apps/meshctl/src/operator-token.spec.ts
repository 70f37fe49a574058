import { makeTempDir } from '@meshcart/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOperatorToken } from './operator-token';

const dir = makeTempDir('meshcart-meshctl-token-');
afterAll(() => dir.remove());
const file = (path: string, token: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${token}\n`);
  return path;
};

describe('findOperatorToken', () => {
  it('takes --token, then MESHCTL_TOKEN, then the control plane own setting beside it, then the data directory', () => {
    const inData = file(join(dir.path, 'data', 'operator-token'), 'from-data-dir');
    const own = file(join(dir.path, 'cp', 'operator-token'), 'from-control-plane-file');
    const env = {
      MESHCTL_TOKEN: 'from-env',
      MESH_OPERATOR_TOKEN: 'from-control-plane',
      MESH_OPERATOR_TOKEN_FILE: own,
      MESHCART_DATA_DIR: join(dir.path, 'data'),
    };
    expect(findOperatorToken('from-flag', env)).toEqual({ token: 'from-flag', from: '--token' });
    expect(findOperatorToken(undefined, env)).toEqual({ token: 'from-env', from: 'MESHCTL_TOKEN' });
    expect(findOperatorToken(undefined, { ...env, MESHCTL_TOKEN: undefined }).token).toBe('from-control-plane');
    expect(findOperatorToken(undefined, { MESH_OPERATOR_TOKEN_FILE: own, MESHCART_DATA_DIR: join(dir.path, 'data') })).toEqual({
      token: 'from-control-plane-file',
      from: own,
    });
    expect(findOperatorToken(undefined, { MESHCART_DATA_DIR: join(dir.path, 'data') })).toEqual({ token: 'from-data-dir', from: inData });
  });

  it('finds the nearest .data/operator-token from the working directory up, as npm start leaves it', () => {
    const root = join(dir.path, 'shop');
    const token = file(join(root, '.data', 'operator-token'), 'from-npm-start');
    mkdirSync(join(root, 'apps', 'meshctl'), { recursive: true });
    expect(findOperatorToken(undefined, {}, join(root, 'apps', 'meshctl'))).toEqual({ token: 'from-npm-start', from: token });
  });

  it('says everywhere it looked when it finds none', () => {
    const empty = join(dir.path, 'empty');
    mkdirSync(empty);
    const found = findOperatorToken(undefined, { MESHCART_DATA_DIR: empty });
    expect(found.token).toBeUndefined();
    expect(found.from).toBe(`none found (looked for --token, MESHCTL_TOKEN, ${join(empty, 'operator-token')})`);
  });
});
