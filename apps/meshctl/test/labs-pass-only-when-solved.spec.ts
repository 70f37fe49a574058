import { LocalMesh, ephemeralPlan } from '@meshcart/mesh-launcher';
import { makeTempDir } from '@meshcart/testing';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABS } from '../src/labs';

// Every lab against one real local mesh, through the real command line: its check fails after start,
// passes after solve, and reset brings back the config that was in force before start. This is
// what shows each check can fail.
const root = join(__dirname, '../../..');
const dir = makeTempDir('meshcart-labs-');
let mesh: LocalMesh;

interface Run<T> {
  code: number;
  json?: T;
  stdout: string;
  stderr: string;
}

function meshctl<T = unknown>(...args: string[]): Promise<Run<T>> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'apps/meshctl/src/main.ts', '--control-plane', mesh.controlPlaneUrl, ...args],
      {
        cwd: root,
        env: { ...process.env, MESHCTL_TOKEN: mesh.operatorToken(), MESHCTL_GATEWAY: mesh.gatewayUrl, MESHCART_DATA_DIR: join(dir.path, 'meshctl') },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        let json: T | undefined;
        try {
          json = JSON.parse(stdout) as T;
        } catch {
          json = undefined;
        }
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, json, stdout, stderr });
      },
    );
  });
}

const inForce = async () => (await meshctl<{ version: string }[]>('--json', 'history')).json!.at(-1)!.version;

beforeAll(async () => {
  mesh = await LocalMesh.start({
    plan: await ephemeralPlan('127.0.0.1'),
    dataDir: join(dir.path, 'mesh'),
    profile: 'optimized',
    logLevel: 'warn',
    serviceEnv: { 'payment-service': { PAYMENT_LATENCY_MS: '0' } },
  });
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
  dir.remove();
}, 60_000);

describe('meshctl lab', () => {
  it('lists every lab with its time, what it needs and its page', async () => {
    const list = await meshctl<{ id: string; minutes: number; needs: string; doc: string }[]>('--json', 'lab', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.json!.map((l) => l.id)).toEqual(LABS.map((l) => l.id));
    for (const l of list.json!) {
      expect(l.minutes).toBeGreaterThanOrEqual(5);
      expect(l.doc).toBe(`docs/labs/${l.id}.md`);
    }
  });

  it('refuses check and solve of a lab that is not started, and an unknown lab, saying what to run', async () => {
    const check = await meshctl('lab', 'check', LABS[0]!.id);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(`lab ${LABS[0]!.id} is not started: run meshctl lab start ${LABS[0]!.id} first`);
    const unknown = await meshctl('lab', 'start', 'no-such-lab');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no lab "no-such-lab"; the labs are');
    const reset = await meshctl('lab', 'reset');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('no lab is started');
  });

  for (const lab of LABS) {
    it(`${lab.id}: check fails after start, passes after solve, and reset restores the config in force before`, async () => {
      const before = await inForce();

      const start = await meshctl<{ started: boolean; changes: string[] }>('--json', 'lab', 'start', lab.id);
      expect(start.code, start.stderr).toBe(0);
      expect(start.json!.changes.length).toBeGreaterThan(0);

      const failing = await meshctl<{ pass: boolean; stillWrong: string[] }>('--json', 'lab', 'check', lab.id, '--quick');
      expect(failing.code, failing.stdout + failing.stderr).toBe(1);
      expect(failing.json!.pass).toBe(false);
      expect(failing.json!.stillWrong.length, 'a failing check says what is still wrong').toBeGreaterThan(0);
      expect(failing.stderr, 'a check shows progress while it measures').not.toBe('');

      const solve = await meshctl('--json', 'lab', 'solve', lab.id);
      expect(solve.code, solve.stderr).toBe(0);

      const passing = await meshctl<{ pass: boolean; measured: unknown[] }>('--json', 'lab', 'check', lab.id, '--quick');
      expect(passing.code, passing.stdout + passing.stderr).toBe(0);
      expect(passing.json!.pass).toBe(true);

      const reset = await meshctl<{ reset: boolean; version: string }>('--json', 'lab', 'reset');
      expect(reset.code, reset.stderr).toBe(0);
      expect(reset.json!.version).toBe(before);
      expect(await inForce()).toBe(before);
    }, 240_000);
  }
});
