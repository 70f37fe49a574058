// Smoke run of `npm run bench:ablation` with tiny durations and two knobs: complete, well-formed output (no timing is asserted).
import { makeTempDir } from '@meshcart/testing';
import { workspaceRoot } from '@meshcart/service-kit';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = makeTempDir('meshcart-ablation-smoke-');
afterAll(() => dir.remove());

describe('npm run bench:ablation --quick', () => {
  it("measures baseline + each knob and optimized − each knob, and reports each knob's share", async () => {
    const out = join(dir.path, 'results');
    const jsonFile = join(dir.path, 'ablation.json');
    const args = [
      '--quick',
      '--knobs',
      'connection-reuse,key-type',
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
      '--out',
      out,
      '--json',
      jsonFile,
    ];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'load-tests/src/ablation-bench.ts', ...args], {
      cwd: workspaceRoot(),
      maxBuffer: 16 << 20,
    });

    const result = JSON.parse(readFileSync(jsonFile, 'utf8'));
    expect(result.runs.map((r: { name: string }) => r.name)).toEqual([
      'baseline',
      'baseline + connection-reuse',
      'baseline + key-type',
      'optimized',
      'optimized - connection-reuse',
      'optimized - key-type',
    ]);
    for (const r of result.runs) {
      expect(r.errors, `${r.name}: ${r.errorSamples.join('; ')}`).toBe(0);
      expect(r.interService.count, r.name).toBeGreaterThan(0);
    }
    expect(result.knobs.map((k: { knob: string }) => k.knob)).toEqual(['connection-reuse', 'key-type']);
    for (const k of result.knobs) {
      expect(typeof k.change).toBe('string');
      for (const f of ['latencyShareAddedPct', 'latencyShareRemovedPct', 'throughputShareAddedPct', 'throughputShareRemovedPct']) {
        // A share is a number, or null when the two ends measured the same (no gain to share).
        expect(k[f] === null || Number.isFinite(k[f]), `${k.knob}.${f}`).toBe(true);
      }
    }
    expect(stdout).toContain('Each knob alone');
    expect(readFileSync(join(out, 'ablation.md'), 'utf8')).toContain('| connection-reuse |');
    expect(existsSync(join(out, 'ablation.svg'))).toBe(true);
  }, 600_000);
});
