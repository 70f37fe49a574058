import { describe, expect, it } from 'vitest';
import { RollingCounts } from './rolling-counts';

describe('rolling counts', () => {
  it('count each slot until its period comes round again, and forget periods that passed with no traffic', () => {
    let now = 0;
    const window = new RollingCounts(10, 100, () => now);
    window.add(0);
    window.add(1);
    now = 950; // the last slot of the window that started at 0
    window.add(0);
    expect([window.total(0), window.total(1)]).toEqual([2, 1]);
    now = 1000; // slot 0's period again: what it held has left the window
    expect([window.total(0), window.total(1)]).toEqual([1, 0]);
    now = 5000; // far past the window: nothing is left
    expect(window.total(0)).toBe(0);
    window.add(0);
    window.clear();
    expect(window.total(0)).toBe(0);
  });
});
