// readProcessStats and ProcessSampler read memory and CPU time of a process through pidusage.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProcessSampler, readProcessStats } from '../src/lib/index';

function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe('process stats', () => {
  it('reads the RSS and CPU time of a live process', async () => {
    const s = await readProcessStats(process.pid);
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    expect(s.rssMb).toBeGreaterThan(rssMb * 0.5);
    expect(s.rssMb).toBeLessThan(rssMb * 2);
    expect(s.cpuSeconds).toBeGreaterThan(0);
  });

  it('samples CPU used during the window only, summed over processes, tolerating one that has exited', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.once('exit', r));
    const sampler = new ProcessSampler([process.pid, child.pid!], 20);
    await sampler.start();
    burnCpu(300);
    const r = await sampler.stop();
    expect(r.cpuSeconds).toBeGreaterThanOrEqual(0.25);
    expect(r.cpuSeconds).toBeLessThan(2);
    expect(r.maxRssMb).toBeGreaterThan(10);
    expect(r.perPid.find((p) => p.pid === child.pid)).toEqual({ pid: child.pid, maxRssMb: 0, cpuSeconds: 0 });
  });
});
