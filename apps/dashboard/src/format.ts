// How the dashboard writes numbers, states and colours: one place, so the graph, the tables and the chart agree.
import type { DashboardProxy, GoldenStats, Health } from '@meshcart/control-plane-api';

export const rps = (s: GoldenStats) => `${s.rps.toFixed(1)} rps`;
export const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(v === 1 ? 0 : 1)}%`);
export const ms = (v: number | null) => (v === null ? '—' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);

/** One line for a node or edge: rate, success, p50/p99. */
export const statsLine = (s: GoldenStats) => (s.rps === 0 ? 'idle' : `${rps(s)} · ${pct(s.successRate)} · p50 ${ms(s.p50Ms)} · p99 ${ms(s.p99Ms)}`);

/** Health colours, dark enough for white text and visible on a white page (WCAG AA). */
export const HEALTH_COLOUR: Record<Health, string> = {
  idle: '#5f6b7a',
  healthy: '#1b7a3a',
  degraded: '#8a5a00',
  failing: '#b3261e',
};

export function ackText(p: DashboardProxy): string {
  const a = p.acks.resources;
  if (!a) return 'pending';
  return a.acked ? 'ACK' : `NACK: ${a.error ?? 'refused'}`;
}

export function expiresIn(notAfter: string | null, now = Date.now()): string {
  if (!notAfter) return '—';
  const min = Math.round((new Date(notAfter).getTime() - now) / 60_000);
  if (min < 0) return 'expired';
  return min >= 120 ? `${Math.round(min / 60)} h` : `${min} min`;
}

export const shortVersion = (v: string | null | undefined) => (v ? v.slice(0, 12) : '—');
