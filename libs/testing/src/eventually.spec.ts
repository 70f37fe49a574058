import { describe, expect, it } from 'vitest';
import { eventually } from './eventually';

describe('eventually', () => {
  it('returns the first value the condition accepts, trying a probe that throws again', async () => {
    let n = 0;
    const value = await eventually(
      () => {
        if (++n < 3) throw new Error('not yet');
        return n;
      },
      (v) => v >= 4,
      2_000,
      'count',
      1,
    );
    expect(value).toBe(4);
  });

  it('names what it waited for, the last value and the last error when time runs out', async () => {
    let n = 0;
    const run = eventually(
      () => {
        if (++n % 2 === 0) throw new Error('flaky');
        return { n };
      },
      () => false,
      100,
      'a value that never comes',
      5,
    );
    await expect(run).rejects.toThrow(/^a value that never comes: not within 100 ms; last value \{"n":\d+\}, last error flaky$/);
  });
});
