// Benchmark output: machine facts, Markdown tables, Vega-Lite charts as SVG, result files.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cpus: number;
  memoryGb: number;
  node: string;
  platform: string;
  kernel: string;
  /** Added: CPU architecture (x64, arm64). */
  arch: string;
}

/** What the numbers were measured on, to be stored beside them. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    // availableParallelism follows CPU affinity/cgroup limits, which is what the benchmark actually gets.
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: process.platform,
    kernel: os.release(),
    arch: process.arch,
  };
}

function cell(value: string | number): string {
  return String(value).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub-flavoured Markdown table; columns holding only numbers are right-aligned. */
export function markdownTable(head: string[], rows: (string | number)[][]): string {
  const numeric = head.map((_, c) => rows.length > 0 && rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const lines = [
    `| ${head.map(cell).join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${head.map((_, c) => cell(r[c] ?? '')).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/**
 * Renders a Vega-Lite spec to an SVG string headlessly: the 'none' renderer with toSVG needs no canvas
 * or browser (text widths are estimated), so it works on a bare CI machine.
 */
export async function renderChartSvg(spec: object): Promise<string> {
  const compiled = compile(spec as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface WriteResultsOptions {
  dir: string;
  name: string;
  json: unknown;
  markdown: string;
  /** Each chart is written to `file`, relative to `dir` unless absolute. */
  charts?: { file: string; spec: object }[];
  /** Also write the JSON here (in addition to `<dir>/<name>.json`). */
  jsonPath?: string;
}

/** Writes `<dir>/<name>.json`, `<dir>/<name>.md`, each chart's SVG, and the JSON again to jsonPath if given. */
export async function writeResults(o: WriteResultsOptions): Promise<{ files: string[] }> {
  const files: string[] = [];
  const put = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    files.push(path);
  };
  await mkdir(o.dir, { recursive: true });
  const json = `${JSON.stringify(o.json, null, 2)}\n`;
  await put(join(o.dir, `${o.name}.json`), json);
  if (o.jsonPath && resolve(o.jsonPath) !== resolve(o.dir, `${o.name}.json`)) await put(o.jsonPath, json);
  await put(join(o.dir, `${o.name}.md`), o.markdown.endsWith('\n') ? o.markdown : `${o.markdown}\n`);
  for (const chart of o.charts ?? []) {
    // Render before writing anything for this chart, so a bad spec leaves no half-written file.
    const svg = await renderChartSvg(chart.spec);
    await put(isAbsolute(chart.file) ? chart.file : join(o.dir, chart.file), svg);
  }
  return { files };
}
