// Memory and CPU of other processes (the services under test) read from /proc, sampled over a benchmark window.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second, which /proc/<pid>/stat counts CPU time in; asked once. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident memory and CPU time (user + system) used so far by one process; throws if it does not exist. */
export function readProcessStats(pid: number): { rssMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0); // a zombie has no VmRSS line
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses, so count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { rssMb: rssKb / 1024, cpuSeconds: (utime + stime) / ticksPerSecond() };
}

interface PidWindow {
  pid: number;
  startCpu: number | undefined;
  lastCpu: number | undefined;
  maxRssMb: number;
}

/**
 * Samples a set of processes while a benchmark runs. maxRssMb is the peak of their summed RSS at one
 * sample (the footprint of the whole set), cpuSeconds their CPU time summed over the window.
 * A process that exits during the window keeps the CPU time last seen for it.
 */
export class ProcessSampler {
  private readonly windows: PidWindow[];
  private timer: NodeJS.Timeout | undefined;
  private maxTotalRssMb = 0;

  constructor(
    pids: number[],
    private readonly intervalMs = 250,
  ) {
    this.windows = pids.map((pid) => ({ pid, startCpu: undefined, lastCpu: undefined, maxRssMb: 0 }));
  }

  start(): void {
    this.maxTotalRssMb = 0;
    for (const w of this.windows) {
      w.startCpu = undefined;
      w.lastCpu = undefined;
      w.maxRssMb = 0;
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): { maxRssMb: number; cpuSeconds: number; perPid: { pid: number; maxRssMb: number; cpuSeconds: number }[] } {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const perPid = this.windows.map((w) => ({
      pid: w.pid,
      maxRssMb: w.maxRssMb,
      cpuSeconds: w.startCpu === undefined || w.lastCpu === undefined ? 0 : w.lastCpu - w.startCpu,
    }));
    return { maxRssMb: this.maxTotalRssMb, cpuSeconds: perPid.reduce((s, p) => s + p.cpuSeconds, 0), perPid };
  }

  private sample(): void {
    let total = 0;
    for (const w of this.windows) {
      let s: { rssMb: number; cpuSeconds: number };
      try {
        s = readProcessStats(w.pid);
      } catch {
        continue; // exited (or not started yet)
      }
      w.startCpu ??= s.cpuSeconds;
      w.lastCpu = s.cpuSeconds;
      w.maxRssMb = Math.max(w.maxRssMb, s.rssMb);
      total += s.rssMb;
    }
    this.maxTotalRssMb = Math.max(this.maxTotalRssMb, total);
  }
}
