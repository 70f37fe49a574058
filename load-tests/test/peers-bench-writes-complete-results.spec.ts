import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const NAMES = [
  'direct',
  'node-forwarder',
  'fastify-http-proxy',
  'nginx',
  'haproxy',
  'meshcart-sidecar',
  'meshcart-sidecar-mtls',
  'meshcart-sidecar-full',
  'meshcart-proxyless',
];

type Pair = { p50: number; p99: number };
interface Run {
  name: string;
  skipped?: string;
  proxies: number;
  addedLatencyUs: Pair;
  pathLatencyUs: Pair;
  maxThroughputRps: number;
  rssMb: number | null;
  cpuCoresPer1kRps: number | null;
  errors: number;
}

describe('npm run bench:peers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peers-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every peer (or says why it skipped one) and writes JSON, markdown and charts', async () => {
    const jsonFile = join(dir, 'peers-copy.json');
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'load-tests/src/peers-bench.ts',
        '--quick',
        '--duration',
        '0.5',
        '--warmup',
        '0.2',
        '--rounds',
        '1',
        '--rate',
        '200',
        '--concurrency',
        '8',
        '--json',
        jsonFile,
        '--out',
        dir,
      ],
      { cwd: join(__dirname, '../..'), timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
    );

    const result = JSON.parse(readFileSync(jsonFile, 'utf8')) as {
      when: string;
      machine: { cpus: number };
      rateRps: number;
      rounds: number;
      runs: Run[];
    };
    expect(Number.isNaN(Date.parse(result.when))).toBe(false);
    expect(result.machine.cpus).toBeGreaterThan(0);
    expect(result).toMatchObject({ rateRps: 200, rounds: 1 });
    expect(result.runs.map((r) => r.name)).toEqual(NAMES);

    for (const r of result.runs) {
      if (r.skipped) {
        // Only the native proxies may be missing on a machine; the bench says how to install them.
        expect(['nginx', 'haproxy']).toContain(r.name);
        expect(r.skipped).toMatch(new RegExp(`${r.name} not found: install it with`));
        expect(stdout).toContain(r.skipped);
        continue;
      }
      const finite = [r.addedLatencyUs.p50, r.addedLatencyUs.p99, r.pathLatencyUs.p50, r.pathLatencyUs.p99, r.maxThroughputRps, r.errors];
      for (const x of finite) expect(Number.isFinite(x), `${r.name}: ${JSON.stringify(r)}`).toBe(true);
      expect(r.pathLatencyUs.p50, r.name).toBeGreaterThan(0);
      expect(r.maxThroughputRps, r.name).toBeGreaterThan(0);
      if (r.proxies > 0) {
        expect(Number.isFinite(r.rssMb) && r.rssMb! > 0, `${r.name} rssMb`).toBe(true);
        expect(Number.isFinite(r.cpuCoresPer1kRps) && r.cpuCoresPer1kRps! >= 0, `${r.name} cpu`).toBe(true);
      } else {
        expect(r.rssMb).toBeNull();
      }
    }
    expect(result.runs.find((r) => r.name.startsWith('meshcart-sidecar'))?.proxies).toBe(2);

    expect(JSON.parse(readFileSync(join(dir, 'peers.json'), 'utf8'))).toEqual(result);
    const md = readFileSync(join(dir, 'peers.md'), 'utf8');
    for (const name of NAMES) expect(md).toContain(name);
    for (const svg of ['peers-latency.svg', 'peers-throughput.svg']) {
      expect(existsSync(join(dir, svg))).toBe(true);
      expect(readFileSync(join(dir, svg), 'utf8')).toMatch(/^<svg/);
    }
    expect(stdout).toMatch(/(PASS|FAIL|SKIP) {2}meshcart-proxyless p50 ≤ 1\.15 × direct p50/);
  }, 300_000);
});
