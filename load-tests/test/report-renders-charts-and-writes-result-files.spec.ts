// Reports: Markdown tables, Vega-Lite charts rendered to SVG without a browser, and the result files on disk.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { machineInfo, markdownTable, printTable, renderChartSvg, writeResults } from '../src/lib/index';

const chart = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: 'p99 by protocol',
  width: 300,
  height: 120,
  data: {
    values: [
      { protocol: 'h2c-proto', p99: 812 },
      { protocol: 'http1-proto', p99: 1034 },
    ],
  },
  mark: 'bar',
  encoding: {
    y: { field: 'protocol', type: 'nominal' },
    x: { field: 'p99', type: 'quantitative', title: 'p99 µs' },
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshcart-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('report', () => {
  it('renders a Vega-Lite chart to SVG with its data labels, headlessly', async () => {
    const svg = await renderChartSvg(chart);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('h2c-proto');
    expect(svg).toContain('http1-proto');
    expect(svg).toContain('p99 by protocol');
  });

  it('writes JSON, Markdown and chart SVGs into a new directory, and the JSON again to jsonPath', async () => {
    const out = join(dir, 'nested', 'results');
    const jsonPath = join(dir, 'elsewhere', 'copy.json');
    const { files } = await writeResults({
      dir: out,
      name: 'bench',
      json: { rateRps: 1000, p99Us: 812 },
      markdown: '# Bench\n\n' + markdownTable(['a', 'b'], [['x', 1]]),
      charts: [{ file: 'p99.svg', spec: chart }],
      jsonPath,
    });
    expect(files).toEqual([join(out, 'bench.json'), jsonPath, join(out, 'bench.md'), join(out, 'p99.svg')]);
    expect(JSON.parse(await readFile(join(out, 'bench.json'), 'utf8'))).toEqual({ rateRps: 1000, p99Us: 812 });
    expect(await readFile(jsonPath, 'utf8')).toBe(await readFile(join(out, 'bench.json'), 'utf8'));
    expect(await readFile(join(out, 'bench.md'), 'utf8')).toContain('| x | 1 |');
    expect(await readFile(join(out, 'p99.svg'), 'utf8')).toContain('h2c-proto');
  });

  it('builds Markdown tables with escaped cells and right-aligned number columns', () => {
    expect(
      markdownTable(
        ['peer', 'p99 µs'],
        [
          ['a|b', 812],
          ['envoy', 1034],
        ],
      ),
    ).toBe(['| peer | p99 µs |', '| --- | ---: |', '| a\\|b | 812 |', '| envoy | 1034 |'].join('\n'));
  });

  it('prints tables to stdout only, without colour codes', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write');
    try {
      printTable('Results', ['peer', 'rps'], [['direct', 12000]]);
      const text = out.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toContain('Results');
      expect(text).toContain('direct');
      expect(text).toContain('12000');
      expect(text).not.toContain('\x1b[');
      expect(err).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it('describes the machine', () => {
    const m = machineInfo();
    expect(m.cpus).toBeGreaterThan(0);
    expect(m.memoryGb).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
    expect(m.platform).toBe(process.platform);
    expect(m.kernel.length).toBeGreaterThan(0);
  });
});
