import { describe, expect, it } from 'vitest';
import { BoundedCancellation, Cancellation } from './cancellation';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A deadline of `ms` that records when (after `t0`) it was cancelled and why. */
function deadline(ms: number, t0: number, parent?: Cancellation) {
  const d = new BoundedCancellation(parent, ms, () => new Error(`${ms} ms passed`));
  const seen: { at?: number; reason?: string } = {};
  d.onCancel((reason) => {
    seen.at = performance.now() - t0;
    seen.reason = reason.message;
  });
  return { d, seen };
}

describe('deadlines', () => {
  it('pass on time, in the order they were set, whether or not the ones before them were released', async () => {
    const t0 = performance.now();
    const first = deadline(60, t0);
    await sleep(15);
    const second = deadline(60, t0);
    await sleep(15);
    const third = deadline(60, t0);
    first.d.release();
    await sleep(120);

    expect(first.seen.at).toBeUndefined();
    expect(first.d.timedOut).toBe(false);
    // Never early: each waits its own 60 ms from when it was set (15 and 30 ms in).
    expect(second.seen.at).toBeGreaterThanOrEqual(74);
    expect(third.seen.at).toBeGreaterThanOrEqual(89);
    expect(third.seen.at!).toBeGreaterThanOrEqual(second.seen.at!);
    expect([second.d.timedOut, third.d.timedOut]).toEqual([true, true]);
    expect(second.seen.reason).toBe('60 ms passed');
  });

  it('end with their parent, and a released one is not cancelled when its time comes', async () => {
    const t0 = performance.now();
    const parent = new Cancellation();
    const child = deadline(1000, t0, parent);
    const done = deadline(20, t0);
    done.d.release();
    parent.cancel(new Error('caller left'));
    await sleep(40);

    expect(child.seen.reason).toBe('caller left');
    expect(child.d.timedOut).toBe(false);
    expect(done.d.cancelled).toBe(false);
  });

  it('of many different lengths each pass on time', async () => {
    const t0 = performance.now();
    const all = Array.from({ length: 40 }, (_, i) => deadline(20 + i, t0));
    await sleep(120);
    for (const [i, { seen }] of all.entries()) expect(seen.at, `deadline of ${20 + i} ms`).toBeGreaterThanOrEqual(20 + i - 1);
    expect(all.every(({ d }) => d.timedOut)).toBe(true);
  });
});
