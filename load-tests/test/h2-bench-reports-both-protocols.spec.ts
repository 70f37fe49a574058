import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run bench:h2', () => {
  it('measures pooled HTTP/1.1 and h2c side by side and prints a table of both', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'load-tests/src/h2-vs-http1.ts', '--quick', '--seconds', '0.5'], {
      cwd: join(__dirname, '../..'),
      timeout: 60_000,
    });
    for (const row of ['http/1.1 × 1', 'h2c × 1', 'http/1.1 × 32', 'h2c × 32']) {
      expect(stdout).toMatch(new RegExp(`│ ${row.replace(/[/×.]/g, '.')}\\s+│ [1-9]\\d* +│ \\d+ +│ \\d+ +│`));
    }
  }, 60_000);
});
