import { readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { workspaceRoot } from '@meshcart/service-kit';
import { loadTopology } from '@meshcart/topology';
import { cleanEnv, copyWorkspace, type WorkspaceCopy } from './workspace-copy';
import { freePortBlock } from './port-block';

// The whole path a fork takes: generate a service into a copy of this workspace, then run what CI and a
// user would run there. Minutes, not seconds: it lints, type-checks and tests the new service and
// starts the mesh with it.
// `review`, unless this workspace (a fork that already generated it) has one: then `reviewx`, and so on.
const declared = Object.keys(loadTopology(join(workspaceRoot(), 'deploy/topology.yaml')).services);
let NAME = 'review';
while (declared.includes(`${NAME}-service`)) NAME += 'x';
const SERVICE = `${NAME}-service`;
const log = (m: string) => console.log(`[new-service] ${m}`);

describe('npm run new-service in a copy of the workspace', () => {
  let ws: WorkspaceCopy;
  let beforeGenerating = '';
  let firstRun = { code: 0 as number | null, output: '' };

  beforeAll(async () => {
    ws = copyWorkspace();
    log(`workspace copied to ${ws.root}`);
    beforeGenerating = ws.fingerprint();
    firstRun = await ws.run('npm', ['run', 'new-service', '--', NAME]);
    log(`generated ${SERVICE} (exit ${firstRun.code})`);
  }, 120_000);

  afterAll(() => ws?.remove());

  it('creates the app, its contract and its manifests, and changes the files that name every service', () => {
    expect(firstRun.code, firstRun.output).toBe(0);
    for (const created of [
      `apps/${SERVICE}/project.json`,
      `apps/${SERVICE}/src/app.ts`,
      `apps/${SERVICE}/src/main.ts`,
      `libs/contracts/src/${NAME}.ts`,
      `deploy/k8s/base/${SERVICE}.yaml`,
      `deploy/k8s/components/proxyless/${SERVICE}.yaml`,
    ])
      expect(firstRun.output).toContain(`CREATE ${created}`);
    for (const updated of [
      'deploy/topology.yaml',
      'docker-compose.yml',
      'eslint.config.js',
      'deploy/mesh/optimized.yaml',
      'deploy/mesh/baseline.yaml',
      'deploy/k8s/base/mesh-config/optimized.yaml',
      'deploy/k8s/base/kustomization.yaml',
      'deploy/docker/src/roles.ts',
      'libs/contracts/src/index.ts',
    ])
      expect(firstRun.output).toContain(`UPDATE ${updated}`);
    expect(ws.fingerprint()).not.toBe(beforeGenerating);
  });

  it('refuses the same name a second time and changes nothing', async () => {
    const before = ws.fingerprint();
    const again = await ws.run('npm', ['run', 'new-service', '--', NAME]);
    expect(again.code).not.toBe(0);
    expect(again.output).toContain(`new-service refused, nothing was changed: ${SERVICE} is already a service in deploy/topology.yaml`);
    expect(ws.fingerprint()).toBe(before);
  }, 60_000);

  it('refuses a name that is not allowed, saying what is, and changes nothing', async () => {
    const before = ws.fingerprint();
    const bad = await ws.run('npm', ['run', 'new-service', '--', 'Gift_Card']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('"Gift_Card" is not allowed: use lowercase letters and digits, words joined by single hyphens');
    expect(ws.fingerprint()).toBe(before);
  }, 60_000);

  it('renders in compose: the app and its sidecar, as docker-compose itself reads the file', async () => {
    const config = await ws.run('docker-compose', ['-f', 'docker-compose.yml', 'config', '--services'], { timeoutMs: 60_000 });
    expect(config.code, config.output).toBe(0);
    expect(config.output.split('\n')).toEqual(expect.arrayContaining([SERVICE, `${SERVICE}-sidecar`, 'gateway']));
  }, 70_000);

  for (const overlay of ['baseline', 'optimized']) {
    it(`renders in the Kubernetes ${overlay} overlay: its Deployment, Service and ServiceAccount`, async () => {
      const render = await ws.run('kubectl', ['kustomize', `deploy/k8s/overlays/${overlay}`], { timeoutMs: 60_000 });
      expect(render.code, render.output.slice(-2000)).toBe(0);
      const objects = parseAllDocuments(render.output).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
      const mine = objects.filter((o) => o.metadata?.name === SERVICE).map((o) => o.kind);
      expect(mine.sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    }, 70_000);
  }

  it('passes lint, type check and tests: its own (a call through a real mesh among them), the contracts, the drift checks and the Kubernetes renders', async () => {
    const projects = [SERVICE, 'contracts', 'topology-checks', 'k8s', 'docker'];
    log(`nx run-many -t lint typecheck test -p ${projects.join(',')} (a few minutes)`);
    const checks = await ws.run('npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', '-p', projects.join(','), '--outputStyle=static'], {
      timeoutMs: 600_000,
    });
    expect(checks.code, checks.output.slice(-6000)).toBe(0);
    expect(checks.output).toMatch(new RegExp(`nx run ${SERVICE}:test`));
    expect(checks.output).toMatch(/Successfully ran targets lint, typecheck, test for \d+ projects/);
  }, 660_000);

  describe('npm start with it', () => {
    let mesh: ChildProcess | undefined;
    let out = '';
    let gateway = '';
    let controlPlane = '';

    beforeAll(async () => {
      const base = await freePortBlock();
      gateway = `http://127.0.0.1:${base + 80}`;
      controlPlane = `http://127.0.0.1:${base + 90}`;
      log(`npm start on ports ${base}-${base + 99}`);
      mesh = spawn(
        'npm',
        [
          'start',
          '--',
          '--port-base',
          String(base),
          '--gateway-port',
          String(base + 80),
          '--control-plane-port',
          String(base + 90),
          '--data-dir',
          join(ws.root, '.data'),
        ],
        { cwd: ws.root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      mesh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      mesh.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 120_000;
      while (!out.includes('MeshCart is up')) {
        if (mesh.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      log('the mesh is up');
    }, 150_000);

    afterAll(async () => {
      if (!mesh || mesh.exitCode !== null) return;
      const exited = new Promise((r) => mesh!.once('exit', r));
      process.kill(-mesh.pid!, 'SIGINT');
      const timer = setTimeout(() => process.kill(-mesh!.pid!, 'SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }, 40_000);

    it(`starts ${SERVICE}-1 and its sidecar with the rest`, () => {
      expect(out).toContain(`${SERVICE}-1`);
      expect(out).toContain(`${SERVICE}-1-sidecar`);
    });

    it(`answers GET /api/${NAME} through the gateway`, async () => {
      // undici's request rather than fetch: fetch refuses some ports outright (10080 among them).
      const res = await request(`${gateway}/api/${NAME}`);
      const text = await res.body.text();
      expect(res.statusCode, text).toBe(200);
      expect(JSON.parse(text)).toEqual({ items: [] });
    });

    it('shows its proxy in meshctl status with its config ACKed', async () => {
      const status = await ws.run('npx', ['meshctl', '--control-plane', controlPlane, '--json', 'status'], { timeoutMs: 30_000 });
      expect(status.code, status.output).toBe(0);
      const proxies = JSON.parse(status.output.slice(status.output.indexOf('['))) as {
        service: string;
        instance: string;
        acks: { resources?: { acked: boolean } };
      }[];
      const mine = proxies.filter((p) => p.service === SERVICE);
      expect(mine.map((p) => p.instance)).toEqual([`${SERVICE}-1`]);
      expect(mine[0]!.acks.resources?.acked).toBe(true);
    }, 40_000);
  });

  it('fails the drift checks, naming the file, once a generated file is edited out of step with the topology', async () => {
    const compose = join(ws.root, 'docker-compose.yml');
    const text = readFileSync(compose, 'utf8');
    const port = new RegExp(`^ {2}${SERVICE}:\\n[^\\n]*\\n[^\\n]*\\n {4}environment: \\{ <<: \\*app-env, PORT: "(\\d+)"`, 'm').exec(text)?.[1];
    expect(port).toBeDefined();
    writeFileSync(compose, text.replace(`PORT: "${port}", MESH_INSTANCE: ${SERVICE}-1`, `PORT: "3999", MESH_INSTANCE: ${SERVICE}-1`));
    const drift = await ws.run('npx', ['vitest', 'run', 'src/compose-runs-every-topology-instance-and-nothing-else.spec.ts'], {
      cwd: join(ws.root, 'deploy/topology-checks'),
      timeoutMs: 120_000,
    });
    expect(drift.code).not.toBe(0);
    expect(drift.output).toContain(`docker-compose.yml: ${SERVICE} has PORT=3999; deploy/topology.yaml gives ${SERVICE} port ${port}`);
  }, 130_000);
});
