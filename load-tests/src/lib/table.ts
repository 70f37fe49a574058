// Terminal tables, apart from the report writer so a command that only prints (the load container) does not load the chart renderer.
import Table from 'cli-table3';

/** A titled table on stdout; no colours, so the output reads the same when piped into a file. */
export function printTable(title: string, head: string[], rows: (string | number)[][]): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  process.stdout.write(`${title}\n${table.toString()}\n`);
}
