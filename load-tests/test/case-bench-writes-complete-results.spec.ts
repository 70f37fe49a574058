// Smoke run of `npm run bench:case` with tiny durations: the output must be complete and well-formed (no timing is asserted).
import { makeTempDir } from '@meshcart/testing';
import { workspaceRoot } from '@meshcart/service-kit';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = makeTempDir('meshcart-case-smoke-');
afterAll(() => dir.remove());

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe('npm run bench:case --quick', () => {
  it('measures every run and writes JSON, Markdown and charts', async () => {
    const out = join(dir.path, 'results');
    const jsonFile = join(dir.path, 'case.json');
    const args = [
      '--quick',
      '--rate',
      '20',
      '--rate-seconds',
      '1',
      '--saturation-seconds',
      '1',
      '--warmup-seconds',
      '0.5',
      '--concurrency',
      '4',
      '--users',
      '2',
      '--out',
      out,
      '--json',
      jsonFile,
    ];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'load-tests/src/case-bench.ts', ...args], {
      cwd: workspaceRoot(),
      maxBuffer: 16 << 20,
    });

    const result = JSON.parse(readFileSync(jsonFile, 'utf8'));
    expect(JSON.parse(readFileSync(join(out, 'case.json'), 'utf8'))).toEqual(result);
    expect(new Date(result.when).toString()).not.toBe('Invalid Date');
    expect(result.machine).toMatchObject({ cpus: expect.any(Number), node: process.version });
    expect(result.runs.map((r: { name: string }) => r.name)).toEqual(['off', 'baseline', 'optimized', 'optimized-proxyless']);
    for (const r of result.runs) {
      expect(r.rateRps, r.name).toBe(20);
      expect(r.errors, `${r.name}: ${r.errorSamples.join('; ')}`).toBe(0);
      expect(r.maxThroughputRps, r.name).toBeGreaterThan(0);
      for (const k of ['meanMs', 'p50Ms', 'p99Ms']) expect(finite(r.endToEnd[k]), `${r.name} endToEnd.${k}`).toBe(true);
      if (r.name === 'off') {
        // No mesh between the services: nothing to read inter-service latency from.
        expect(r.interService).toBeNull();
      } else {
        expect(r.interService.count, r.name).toBeGreaterThan(0);
        for (const k of ['meanMs', 'p50Ms', 'p90Ms', 'p99Ms'])
          expect(finite(r.interService[k]) && r.interService[k] > 0, `${r.name} interService.${k}`).toBe(true);
        // Every hop of the shop was seen by its caller's proxy.
        expect(Object.keys(r.edges), r.name).toEqual(expect.arrayContaining(['gateway→product-service', 'gateway→order-service']));
      }
    }
    for (const r of result.runs) {
      // --quick is one round: the round alone is the run.
      expect(r.perRound, r.name).toHaveLength(1);
      expect(r.perRound[0].maxThroughputRps, r.name).toBeGreaterThan(0);
      expect(r.perRound[0].interServiceMeanMs, r.name).toBe(r.name === 'off' ? null : r.interService.meanMs);
    }
    expect(result.targets.latencyRatioByRound).toEqual([result.targets.latencyRatio]);
    expect(result.targets).toMatchObject({
      latencyTarget: 0.4,
      throughputTarget: 1.3,
      latencyMet: expect.any(Boolean),
      throughputMet: expect.any(Boolean),
    });
    expect(stdout).toContain('optimized vs baseline: inter-service mean');
    expect(stdout).toContain('optimized-proxyless');

    const md = readFileSync(join(out, 'case.md'), 'utf8');
    expect(md).toContain('| optimized-proxyless |');
    expect(md).toMatch(/\| 1 \| [\d.]+ \| [\d.]+ \| ×[\d.]+ \|/);
    for (const svg of ['case-latency.svg', 'case-throughput.svg']) {
      expect(existsSync(join(out, svg)), svg).toBe(true);
      expect(readFileSync(join(out, svg), 'utf8')).toMatch(/^<svg[\s\S]*baseline[\s\S]*<\/svg>$/);
    }
  }, 600_000);
});
