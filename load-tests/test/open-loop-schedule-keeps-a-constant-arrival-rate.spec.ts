// The open-loop schedule: request i is due at i / rate, independent of how earlier requests fared.
import { describe, expect, it } from 'vitest';
import { correctedLatencyUs, intendedStartUs } from '../src/lib/index';

describe('open-loop schedule', () => {
  it('spaces requests evenly at the arrival rate', () => {
    expect(intendedStartUs(0, 1000)).toBe(0);
    expect(intendedStartUs(1, 1000)).toBe(1000);
    expect(intendedStartUs(250, 1000)).toBe(250_000);
    expect(intendedStartUs(10, 20_000)).toBe(500);
    expect(intendedStartUs(3, 3)).toBe(1_000_000);
    expect(intendedStartUs(1, 3)).toBeCloseTo(333_333.33, 1);
  });

  it('measures latency from the intended start, not from when the request left', () => {
    // Due at 1 s, sent late at 1.2 s after a stall, answered at 1.201 s: the user waited 201 ms, not 1 ms.
    expect(correctedLatencyUs(1_000_000, 1_201_000)).toBe(201_000);
    expect(correctedLatencyUs(500, 500)).toBe(0);
  });
});
