// How meshctl prints: a table for people, JSON (--json) for scripts.
import Table from 'cli-table3';

export interface Output {
  json: boolean;
  line: (text: string) => void;
}

export function table(out: Output, head: string[], rows: (string | number)[][], data: unknown): void {
  if (out.json) return out.line(JSON.stringify(data, null, 2));
  if (rows.length === 0) return out.line('(none)');
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  out.line(t.toString());
}

export const show = (v: unknown): string => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
