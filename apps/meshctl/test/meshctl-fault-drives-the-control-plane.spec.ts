import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startServiceProcess, type StartedService } from '@meshcart/testing';

const run = promisify(execFile);
const root = join(__dirname, '../../..');
let cp: StartedService;
let url: string;
const caDir = makeTempDir('meshcart-ca-');

beforeAll(async () => {
  cp = await startServiceProcess('control-plane', 'apps/control-plane/src/main.ts', {
    MESH_CONFIG_DIR: join(root, 'deploy/mesh'),
    MESH_PROFILE: 'optimized',
    MESH_CA_DIR: caDir.path,
    MESH_CONFIG_STATE_DIR: join(caDir.path, 'config-store'),
    MESH_TLS_PORT: '0',
    // The operator credential goes where meshctl looks for it: MESHCART_DATA_DIR/operator-token.
    MESH_OPERATOR_TOKEN_FILE: join(caDir.path, 'operator-token'),
  });
  url = cp.url;
});
afterAll(async () => {
  await cp.stop();
  caDir.remove();
});

/** meshctl as an operator runs it: it finds the credential in the data directory. `env` overrides that. */
async function meshctl(...args: string[]) {
  return meshctlWith({ MESHCART_DATA_DIR: caDir.path }, ...args);
}

async function meshctlWith(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run('npx', ['meshctl', '--control-plane', url, ...args], { cwd: root, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const faults = async () => (await (await request(`${url}/api/v1/faults`)).body.json()) as Record<string, unknown>;

describe('npx meshctl fault', () => {
  it('sets an abort and a delay through the control plane, lists them, and clears them', async () => {
    expect((await meshctl('fault', '--service', 'product', '--abort', '503', '--percent', '50')).code).toBe(0);
    const delay = await meshctl('fault', '--service', 'payment', '--delay-ms', '100', '--percent', '50');
    expect(delay.stdout).toContain('payment-service: delay 100 ms on 50%');
    expect(await faults()).toEqual({
      'product-service': { abort: { httpStatus: 503, percent: 50 } },
      'payment-service': { delay: { fixedDelayMs: 100, percent: 50 } },
    });
    expect((await meshctl('fault', 'list')).stdout).toContain('abort 503 on 50%');
    expect((await meshctl('fault', 'clear', '--service', 'payment')).code).toBe(0);
    expect(Object.keys(await faults())).toEqual(['product-service']);
    expect((await meshctl('fault', 'clear')).stdout).toContain('cleared every fault');
    expect(await faults()).toEqual({});
    // Seven meshctl processes, each starting Node and tsx: slow on a busy two-core machine.
  }, 90_000);

  it('exits non-zero with the reason on bad input or an unknown service', async () => {
    const bad = await meshctl('fault', '--service', 'product', '--abort', '503', '--percent', '150');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--percent must be a number from 0 to 100');
    const unknown = await meshctl('fault', '--service', 'inventory', '--abort', '503');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('UNKNOWN_SERVICE');
  });

  it('is refused without the operator credential, and says where it looked for one', async () => {
    const elsewhere = makeTempDir('meshcart-no-token-');
    const res = await meshctlWith({ MESHCART_DATA_DIR: elsewhere.path }, 'fault', '--service', 'product', '--abort', '503');
    elsewhere.remove();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('CREDENTIAL_REQUIRED: fault set: no credential');
    expect(res.stderr).toContain(`operator credential: none found (looked for --token, MESHCTL_TOKEN, ${join(elsewhere.path, 'operator-token')})`);
    const wrong = await meshctlWith({ MESHCART_DATA_DIR: elsewhere.path }, '--token', 'not-the-operator-credential', 'fault', 'clear');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/CREDENTIAL_REFUSED.*\n {2}operator credential: from --token/);
    expect(await faults()).toEqual({});
  });
});
