import { makeTempDir, startRecordingServer } from '@meshcart/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { INSTANCES } from '@meshcart/mesh-launcher';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '../../..');
const dir = makeTempDir('meshcart-start-');
afterAll(() => dir.remove());

function runStart(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/local-mesh/src/main.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}

async function waitFor(probe: () => boolean, timeoutMs: number, what: () => string) {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out waiting; output so far:\n${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Below the kernel's ephemeral range (32768+), where ports picked for port 0 by parallel tests live. */
const base = 21_000 + Math.floor(Math.random() * 90) * 100;

describe('npm start', () => {
  it('refuses to start when a port is taken, naming the port and how to change it', async () => {
    const taken = await startRecordingServer();
    try {
      const run = runStart([
        '--gateway-port',
        String(taken.port),
        '--port-base',
        String(base),
        '--control-plane-port',
        String(base + 99),
        '--data-dir',
        dir.path,
      ]);
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`port ${taken.port} (gateway) is already in use`);
      expect(run.output()).toContain('--gateway-port');
    } finally {
      await taken.close();
    }
  });

  it('starts everything, prints what runs where, and leaves no process behind after Ctrl-C', async () => {
    const gatewayPort = base + 98;
    const run = runStart([
      '--gateway-port',
      String(gatewayPort),
      '--port-base',
      String(base),
      '--control-plane-port',
      String(base + 99),
      '--data-dir',
      dir.path,
      '--profile',
      'baseline',
    ]);
    await waitFor(() => run.output().includes('Press Ctrl-C') || run.child.exitCode !== null, 90_000, run.output);
    expect(run.output()).toContain('Press Ctrl-C');
    const res = await request(`http://127.0.0.1:${gatewayPort}/api/products?pageSize=1`);
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { total: number }).total).toBeGreaterThanOrEqual(50);
    // The dashboard at the control plane's root: built by npm start if it was not.
    const dashboard = await request(`http://127.0.0.1:${base + 99}/`);
    expect(dashboard.statusCode).toBe(200);
    expect(await dashboard.body.text()).toContain('<title>MeshCart dashboard</title>');
    expect(run.output()).toContain(`Dashboard:            http://127.0.0.1:${base + 99}/`);

    // Every process in the table, by pid.
    const pids = [...run.output().matchAll(/│\s*(\d{2,7})\s*│/g)].map((m) => Number(m[1]));
    // The control plane, the gateway, and each instance of deploy/topology.yaml beside its sidecar.
    expect(pids).toHaveLength(2 + 2 * INSTANCES.length);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('stopped.');
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
  }, 120_000);
});
