import { describe, expect, it } from 'vitest';
import { expiresIn, pct, statsLine } from './format';
import { SseParser } from './sse';

describe('the dashboard writes what it reads', () => {
  it('splits server-sent events across chunks, skipping comments', () => {
    const p = new SseParser();
    expect(p.push(': keepalive\n\nevent: snap')).toEqual([]);
    expect(p.push('shot\ndata: {"a":1}\n\nevent: snapshot\r\ndata: 2\r\n\r\n')).toEqual([
      { event: 'snapshot', data: '{"a":1}' },
      { event: 'snapshot', data: '2' },
    ]);
  });

  it('says idle rather than 0 rps, and writes rates, shares and latency', () => {
    expect(statsLine({ rps: 0, successRate: null, p50Ms: null, p99Ms: null })).toBe('idle');
    expect(statsLine({ rps: 12.34, successRate: 0.5, p50Ms: 1.234, p99Ms: 25 })).toBe('12.3 rps · 50.0% · p50 1.23 ms · p99 25 ms');
    expect(pct(1)).toBe('100%');
  });

  it('writes a certificate expiry in minutes or hours', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(expiresIn('2030-01-01T00:30:00Z', now)).toBe('30 min');
    expect(expiresIn('2030-01-01T05:00:00Z', now)).toBe('5 h');
    expect(expiresIn('2029-12-31T00:00:00Z', now)).toBe('expired');
  });
});
