// npm start on a fresh clone: the dashboard is built when its build is missing or older than its sources, and left alone otherwise.
import { workspaceRoot } from '@meshcart/service-kit';
import { makeTempDir } from '@meshcart/testing';
import { cpSync, existsSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardIsStale, ensureDashboard } from './dashboard-build';

// A checkout of its own: the dashboard's sources and the workspace's root files copied, its installed packages linked.
const clone = makeTempDir('meshcart-fresh-clone-');
afterAll(() => clone.remove());

describe('the dashboard build npm start runs', () => {
  it('builds a missing dashboard with a progress line, skips a fresh one, and rebuilds after a source changes', async () => {
    const root = workspaceRoot();
    mkdirSync(join(clone.path, 'apps'), { recursive: true });
    cpSync(join(root, 'apps/dashboard'), join(clone.path, 'apps/dashboard'), { recursive: true, filter: (src) => !src.includes('test-output') });
    for (const file of ['package.json', 'tsconfig.base.json']) cpSync(join(root, file), join(clone.path, file));
    symlinkSync(join(root, 'node_modules'), join(clone.path, 'node_modules'));
    expect(dashboardIsStale(clone.path)).toBe(true);

    const progress: string[] = [];
    const out = await ensureDashboard(clone.path, (m) => progress.push(m));
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(progress[0]).toBe('building the dashboard (apps/dashboard → dist/dashboard) ...');
    expect(progress[1]).toMatch(/^dashboard built in \d+\.\d s$/);

    progress.length = 0;
    await ensureDashboard(clone.path, (m) => progress.push(m));
    expect(progress).toEqual([]);

    // A build older than a source (the source edited after it): backdated rather than waited for.
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(join(out, 'index.html'), earlier, earlier);
    expect(dashboardIsStale(clone.path)).toBe(true);
    await ensureDashboard(clone.path, (m) => progress.push(m));
    expect(progress).toHaveLength(2);
    expect(dashboardIsStale(clone.path)).toBe(false);
  });
});
