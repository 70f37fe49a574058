// Runs Debian's promtool for the observability tests, failing (never skipping) when it is not installed.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';

export const workspaceRoot = resolve(import.meta.dirname, '../../..');

export function promtool(args: string[], cwd = workspaceRoot): SpawnSyncReturns<string> {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    expect.fail(
      'promtool is not installed: it comes with the Debian/Ubuntu package "prometheus" ' +
        '(apt-get install prometheus; in a container, stop the package starting its service with a policy-rc.d that exits 101).',
    );
  }
  if (run.error) throw run.error;
  return run;
}
