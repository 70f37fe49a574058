// Open-loop (constant arrival rate, coordinated-omission corrected) and closed-loop load on any async `send` function.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';

/** Resolves after the whole response body is read; rejects on error or non-2xx. */
export type Send = (i: number) => Promise<void>;

export interface LatencySummary {
  count: number;
  errors: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export interface RunResult extends LatencySummary {
  /** Length of the measured window: from the end of warm-up to the last measured response. */
  durationS: number;
  /** Successful measured responses per second of `durationS`. */
  achievedRps: number;
  rateRps?: number;
  /** First ≤5 distinct error messages. */
  errorSamples: string[];
  /** Requests handed to `send` in the measured window (warm-up excluded). */
  sent: number;
  /** Open loop only: latency from the actual call to `send`, i.e. what a coordinated-omission-blind tool reports. */
  uncorrected?: LatencySummary;
  /** Open loop only: how late the generator called `send` after the intended time (its own scheduling overhead). */
  sendLag?: { p50Us: number; p99Us: number; maxUs: number };
}

export interface OpenLoopOptions {
  rateRps: number;
  durationMs: number;
  warmupMs?: number;
  send: Send;
  label?: string;
  /** Default: true when stderr is a TTY or env MESHCART_PROGRESS=1. */
  progress?: boolean;
  /** Safety cap, default 10000; requests not sent because of it count as errors. */
  maxInFlight?: number;
  /** After the last send, requests still unanswered this long are counted as errors (default 30000). */
  drainTimeoutMs?: number;
  /**
   * Default true: spin on setImmediate for the last ~2 ms before a send, so sends leave within a few µs of
   * their intended time at the cost of up to one busy core. false sleeps on timers instead: far less CPU,
   * but sends leave up to ~1 ms late and that lag is (rightly) part of the corrected latency.
   */
  spin?: boolean;
}

export interface ClosedLoopOptions {
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  send: Send;
  label?: string;
  progress?: boolean;
  /** After the duration, requests still unanswered this long are counted as errors (default 30000). */
  drainTimeoutMs?: number;
}

const HIGHEST_US = 60_000_000;

export function newLatencyHistogram(): Histogram {
  // Pure JS: the wasm build needs an async init and buys nothing at these record rates.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

function record(h: Histogram, us: number): void {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(us))));
}

/** The i-th send time as an offset from the start, in µs, for a constant arrival rate. */
export function intendedStartUs(i: number, rateRps: number): number {
  return (i * 1_000_000) / rateRps;
}

/** Latency measured from when the request should have been sent, so time it spent waiting to be sent counts. */
export function correctedLatencyUs(intendedStartUs: number, endUs: number): number {
  return Math.max(0, endUs - intendedStartUs);
}

export function summarize(h: Histogram, errors: number): LatencySummary {
  const count = h.totalCount;
  // An empty histogram reports NaN/odd extremes; a run with no successes should read as zeros.
  const at = (p: number) => (count === 0 ? 0 : h.getValueAtPercentile(p));
  return {
    count,
    errors,
    meanUs: count === 0 ? 0 : Math.round(h.mean * 10) / 10,
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs: count === 0 ? 0 : h.maxValue,
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Call `send` so that a synchronous throw becomes a rejection like any other error. */
function call(send: Send, i: number): Promise<void> {
  try {
    return send(i);
  } catch (err) {
    return Promise.reject(err);
  }
}

class Tally {
  readonly histogram = newLatencyHistogram();
  errors = 0;
  readonly errorSamples: string[] = [];
  sent = 0;
  sentTotal = 0;
  done = 0;
  lastEndUs = 0;

  error(err: unknown): void {
    this.errors++;
    const m = message(err);
    if (this.errorSamples.length < 5 && !this.errorSamples.includes(m)) this.errorSamples.push(m);
  }
}

function progressEnabled(flag: boolean | undefined): boolean {
  return flag ?? (process.stderr.isTTY === true || process.env['MESHCART_PROGRESS'] === '1');
}

function ms(us: number): string {
  return us >= 10_000 ? `${(us / 1000).toFixed(0)}ms` : `${(us / 1000).toFixed(2)}ms`;
}

/** One updating progress line on stderr; stdout is left to the benchmark's tables. */
function startProgress(label: string, totalMs: number, warmupMs: number, elapsedMs: () => number, t: Tally): () => void {
  const tty = process.stderr.isTTY === true;
  let lastDone = 0;
  let lastAt = elapsedMs();
  const line = () => {
    const now = elapsedMs();
    const rps = now > lastAt ? ((t.done - lastDone) * 1000) / (now - lastAt) : 0;
    lastDone = t.done;
    lastAt = now;
    const h = t.histogram;
    const pct = h.totalCount === 0 ? 'p50 - p99 -' : `p50 ${ms(h.getValueAtPercentile(50))} p99 ${ms(h.getValueAtPercentile(99))}`;
    const phase = now < warmupMs ? ' (warm-up)' : '';
    return `${label} ${(Math.min(now, totalMs) / 1000).toFixed(1)}s/${(totalMs / 1000).toFixed(1)}s${phase} sent ${t.sentTotal} done ${t.done} errors ${t.errors} rps ${Math.round(rps)} ${pct}`;
  };
  const write = () => process.stderr.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
  const timer = setInterval(write, tty ? 250 : 2000);
  timer.unref();
  return () => {
    clearInterval(timer);
    process.stderr.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`);
  };
}

/**
 * Sends request i at intendedStartUs(i) whether or not earlier ones have been answered, and measures
 * each from that intended time, so a stalled server or a stalled event loop shows up in the latency.
 */
export async function runOpenLoop(o: OpenLoopOptions): Promise<RunResult> {
  if (!(o.rateRps > 0) || !(o.durationMs > 0)) throw new Error('runOpenLoop: rateRps and durationMs must be > 0');
  const rate = o.rateRps;
  const warmupUs = (o.warmupMs ?? 0) * 1000;
  const endUs = warmupUs + o.durationMs * 1000;
  const maxInFlight = o.maxInFlight ?? 10_000;
  const drainTimeoutMs = o.drainTimeoutMs ?? 30_000;
  const spin = o.spin ?? true;
  const t = new Tally();
  const uncorrected = newLatencyHistogram();
  const lag = newLatencyHistogram();
  const t0 = performance.now();
  const nowUs = () => (performance.now() - t0) * 1000;
  const stopProgress = progressEnabled(o.progress)
    ? startProgress(o.label ?? 'open loop', endUs / 1000, warmupUs / 1000, () => nowUs() / 1000, t)
    : undefined;

  let inFlight = 0;
  let next = 0;
  let finished = false;
  let drainTimer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const settle = () => {
    if (drainTimer && inFlight === 0 && !finished) {
      finished = true;
      clearTimeout(drainTimer);
      finish();
    }
  };
  const drainTimedOut = () => {
    // Requests that never answered still count, as errors, rather than hanging the benchmark.
    for (let k = 0; k < inFlight; k++) t.error(new Error(`no response within drainTimeoutMs (${drainTimeoutMs}) after the run`));
    t.lastEndUs = Math.max(t.lastEndUs, nowUs());
    finished = true;
    finish();
  };

  const fire = (i: number, dueUs: number) => {
    const measured = dueUs >= warmupUs;
    t.sentTotal++;
    if (measured) t.sent++;
    if (inFlight >= maxInFlight) {
      if (measured) t.error(new Error(`not sent: maxInFlight (${maxInFlight}) reached`));
      t.done++;
      return;
    }
    inFlight++;
    const sentUs = nowUs();
    if (measured) record(lag, sentUs - dueUs);
    call(o.send, i).then(
      () => {
        if (finished) return;
        const end = nowUs();
        if (measured) {
          record(t.histogram, correctedLatencyUs(dueUs, end));
          record(uncorrected, end - sentUs);
          t.lastEndUs = Math.max(t.lastEndUs, end);
        }
        t.done++;
        inFlight--;
        settle();
      },
      (err: unknown) => {
        if (finished) return;
        if (measured) {
          t.error(err);
          t.lastEndUs = Math.max(t.lastEndUs, nowUs());
        }
        t.done++;
        inFlight--;
        settle();
      },
    );
  };

  const tick = () => {
    const now = nowUs();
    // Everything due by now goes out in this batch: after a stall that is a burst, as a real arrival process would be.
    for (let due = intendedStartUs(next, rate); due < endUs && due <= now; due = intendedStartUs(next, rate)) fire(next++, due);
    const due = intendedStartUs(next, rate);
    if (due >= endUs) {
      drainTimer = setTimeout(drainTimedOut, drainTimeoutMs);
      settle();
      return;
    }
    // Timers are only ~1 ms precise, so sleep until just before the next send and spin the rest
    // (unless told not to spin, which saves CPU and costs up to ~1 ms of send lag).
    const waitMs = (due - nowUs()) / 1000;
    if (waitMs > 2) setTimeout(tick, Math.floor(waitMs - 1));
    else if (spin) setImmediate(tick);
    else setTimeout(tick, Math.floor(waitMs));
  };
  tick();

  await allDone;
  stopProgress?.();

  const durationS = Math.max(endUs, t.lastEndUs) / 1e6 - warmupUs / 1e6;
  const summary = summarize(t.histogram, t.errors);
  return {
    ...summary,
    durationS,
    achievedRps: summary.count / durationS,
    rateRps: rate,
    errorSamples: t.errorSamples,
    sent: t.sent,
    uncorrected: summarize(uncorrected, t.errors),
    sendLag:
      lag.totalCount === 0
        ? { p50Us: 0, p99Us: 0, maxUs: 0 }
        : { p50Us: lag.getValueAtPercentile(50), p99Us: lag.getValueAtPercentile(99), maxUs: lag.maxValue },
  };
}

/** `concurrency` workers each send back-to-back for the duration: the server's saturation throughput. */
export async function runClosedLoop(o: ClosedLoopOptions): Promise<RunResult> {
  if (!(o.concurrency >= 1) || !(o.durationMs > 0)) throw new Error('runClosedLoop: concurrency must be ≥ 1 and durationMs > 0');
  const warmupUs = (o.warmupMs ?? 0) * 1000;
  const endUs = warmupUs + o.durationMs * 1000;
  const drainTimeoutMs = o.drainTimeoutMs ?? 30_000;
  const t = new Tally();
  const t0 = performance.now();
  const nowUs = () => (performance.now() - t0) * 1000;
  const stopProgress = progressEnabled(o.progress)
    ? startProgress(o.label ?? `closed loop ×${o.concurrency}`, endUs / 1000, warmupUs / 1000, () => nowUs() / 1000, t)
    : undefined;
  let next = 0;
  let inFlight = 0;
  let finished = false;

  const worker = async () => {
    for (let start = nowUs(); start < endUs && !finished; start = nowUs()) {
      const measured = start >= warmupUs;
      t.sentTotal++;
      if (measured) t.sent++;
      inFlight++;
      try {
        await call(o.send, next++);
        if (finished) return;
        const end = nowUs();
        if (measured) {
          record(t.histogram, end - start);
          t.lastEndUs = Math.max(t.lastEndUs, end);
        }
      } catch (err) {
        if (finished) return;
        if (measured) {
          t.error(err);
          t.lastEndUs = Math.max(t.lastEndUs, nowUs());
        }
      }
      inFlight--;
      t.done++;
    }
  };

  let drainTimer: NodeJS.Timeout | undefined;
  const drained = new Promise<boolean>((resolve) => {
    drainTimer = setTimeout(() => resolve(false), (endUs - nowUs()) / 1000 + drainTimeoutMs);
  });
  const completed = await Promise.race([Promise.all(Array.from({ length: o.concurrency }, worker)).then(() => true), drained]);
  clearTimeout(drainTimer);
  if (!completed) {
    // Requests that never answered still count, as errors, rather than hanging the benchmark.
    for (let k = 0; k < inFlight; k++) t.error(new Error(`no response within drainTimeoutMs (${drainTimeoutMs}) after the run`));
    t.lastEndUs = Math.max(t.lastEndUs, nowUs());
  }
  finished = true;
  stopProgress?.();

  const durationS = Math.max(Math.max(endUs, t.lastEndUs) - warmupUs, 1) / 1e6;
  const summary = summarize(t.histogram, t.errors);
  return { ...summary, durationS, achievedRps: summary.count / durationS, errorSamples: t.errorSamples, sent: t.sent };
}
