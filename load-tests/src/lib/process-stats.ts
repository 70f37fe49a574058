// Memory and CPU of other processes (the services under test), sampled over a benchmark window, on Linux and macOS alike.
import pidusage from 'pidusage';

/** Resident memory and CPU time (user + system) used so far by one process; rejects if it does not exist. */
export async function readProcessStats(pid: number): Promise<{ rssMb: number; cpuSeconds: number }> {
  // ctime is the cumulative CPU time; pidusage's `cpu` is a percentage since whoever asked last, which a window cannot sum.
  const s = await pidusage(pid);
  return { rssMb: s.memory / 2 ** 20, cpuSeconds: s.ctime / 1000 };
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
  /** The sample being read: a tick skips while one is (ps on macOS can take longer than a tick), and stop() waits for it. */
  private inFlight: Promise<void> | undefined;

  constructor(
    pids: number[],
    private readonly intervalMs = 250,
  ) {
    this.windows = pids.map((pid) => ({ pid, startCpu: undefined, lastCpu: undefined, maxRssMb: 0 }));
  }

  /** Resolves once the window's first sample is read, so CPU spent after it counts. */
  async start(): Promise<void> {
    this.maxTotalRssMb = 0;
    for (const w of this.windows) {
      w.startCpu = undefined;
      w.lastCpu = undefined;
      w.maxRssMb = 0;
    }
    await this.sample();
    this.timer = setInterval(() => {
      this.inFlight ??= this.sample().finally(() => (this.inFlight = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<{ maxRssMb: number; cpuSeconds: number; perPid: { pid: number; maxRssMb: number; cpuSeconds: number }[] }> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.sample();
    const perPid = this.windows.map((w) => ({
      pid: w.pid,
      maxRssMb: w.maxRssMb,
      cpuSeconds: w.startCpu === undefined || w.lastCpu === undefined ? 0 : w.lastCpu - w.startCpu,
    }));
    return { maxRssMb: this.maxTotalRssMb, cpuSeconds: perPid.reduce((s, p) => s + p.cpuSeconds, 0), perPid };
  }

  private async sample(): Promise<void> {
    // A process that has exited (or not started yet) has no stats: it keeps what was last seen.
    const stats = await Promise.all(this.windows.map((w) => readProcessStats(w.pid).catch(() => undefined)));
    let total = 0;
    this.windows.forEach((w, i) => {
      const s = stats[i];
      if (!s) return;
      w.startCpu ??= s.cpuSeconds;
      w.lastCpu = s.cpuSeconds;
      w.maxRssMb = Math.max(w.maxRssMb, s.rssMb);
      total += s.rssMb;
    });
    this.maxTotalRssMb = Math.max(this.maxTotalRssMb, total);
  }
}
