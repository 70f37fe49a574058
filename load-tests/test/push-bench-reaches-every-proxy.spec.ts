import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run bench:push', () => {
  it('pushes config changes to every subscribed proxy and reports arrival, ACK and memory', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'load-tests/src/push-bench.ts', '--proxies', '20', '--rounds', '2'], {
      cwd: join(__dirname, '../..'),
      timeout: 90_000,
    });
    expect(stdout).toMatch(/round 2\/2: version [0-9a-f]{16} reached all 20 proxies in [\d.]+ ms/);
    expect(stdout).toMatch(/│ 1 +│ [\d.]+ +│ [\d.]+ +│ [\d.]+ +│/);
    expect(stdout).toMatch(/control plane RSS: [\d.]+ MB idle, [\d.]+ MB with 20 proxies/);
  }, 90_000);
});
