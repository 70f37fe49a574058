import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheusFloat, parsePrometheusText, samplesOf } from './parse-prometheus-text';

describe('parsePrometheusText', () => {
  it('unescapes quotes, backslashes and newlines in label values, and keeps commas and braces inside them', () => {
    const line = 'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\"",odd="a,b}c=d"}';
    const [s] = parsePrometheusText(`${line} 1.458255915e9\n`);
    expect(s).toEqual({
      name: 'msdos_file_access_time_seconds',
      labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"', odd: 'a,b}c=d' },
      value: 1.458255915e9,
    });
  });

  it('reads +Inf, -Inf and NaN values and +Inf bucket bounds', () => {
    const samples = parsePrometheusText(['a_bucket{le="+Inf"} +Inf', 'b -Inf', 'c NaN', 'd 1e-3', 'e -0.5', 'f .5'].join('\n'));
    expect(samples.map((s) => s.value)).toEqual([Infinity, -Infinity, NaN, 0.001, -0.5, 0.5]);
    expect(samples[0]!.labels).toEqual({ le: '+Inf' });
    expect(parsePrometheusFloat('+Inf')).toBe(Infinity);
    expect(parsePrometheusFloat('0.005')).toBe(0.005);
    for (const bad of ['', ' ', 'Infinite', '1,5', '0x', '--1']) expect(parsePrometheusFloat(bad), bad).toBeUndefined();
  });

  it('skips HELP, TYPE, other comments and blank lines, even when they look like samples', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests {code="200"} 5',
      '# TYPE http_requests_total counter',
      '#http_requests_total{code="500"} 9',
      '',
      '   ',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      'up 1',
      '',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 },
      { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestampMs: 1395066363000 },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });

  it('allows blanks between tokens, a trailing comma, empty braces, CRLF line ends and colons in names', () => {
    const samples = parsePrometheusText('rule:rate_5m { a = "1" , b="2", }\t7\r\nempty{} 0\r\n');
    expect(samples).toEqual([
      { name: 'rule:rate_5m', labels: { a: '1', b: '2' }, value: 7 },
      { name: 'empty', labels: {}, value: 0 },
    ]);
  });

  it('throws on a malformed sample line, naming the line, instead of dropping the figure', () => {
    const cases: [string, RegExp][] = [
      ['ok 1\nbroken{a="1"', /line 2: ',' or '}' expected after label a/],
      ['x{a="1} 2', /line 1: unterminated label value/],
      ['x{a="\\t"} 2', /line 1: unknown escape \\t/],
      ['x{a=1} 2', /line 1: label a has no quoted value/],
      ['x{a="1" b="2"} 2', /line 1: ',' or '}' expected after label a/],
      ['x{a="1",a="2"} 2', /line 1: label a given twice/],
      ['x', /line 1: a value and an optional timestamp expected/],
      ['x one', /line 1: "one" is not a number/],
      ['x 1 2 3', /line 1: a value and an optional timestamp expected/],
      ['x 1 soon', /line 1: "soon" is not a timestamp/],
      ['9lives 1', /line 1: no metric name/],
    ];
    for (const [text, error] of cases) expect(() => parsePrometheusText(text), text).toThrow(error);
  });

  it("reads prom-client's own output back, label escaping included", async () => {
    const registry = new Registry();
    const registers = [registry];
    const help = 'Requests "served"\nby \\ the mesh';
    const counter = new Counter({ name: 'mesh_requests_total', help, labelNames: ['route', 'status_code'], registers });
    const gauge = new Gauge({ name: 'mesh_circuit_breaker_state', help: 'h', labelNames: ['dst_service'], registers });
    const histogram = new Histogram({ name: 'mesh_request_duration_seconds', help: 'h', labelNames: ['route'], buckets: [0.001, 0.01], registers });
    counter.inc({ route: 'say "hi"\\there\nnow', status_code: '200' }, 3);
    gauge.set({ dst_service: 'payment-service' }, NaN);
    histogram.observe({ route: 'x' }, 0.005);
    const samples = parsePrometheusText(await registry.metrics());
    expect(samplesOf(samples, 'mesh_requests_total')).toEqual([
      { name: 'mesh_requests_total', labels: { route: 'say "hi"\\there\nnow', status_code: '200' }, value: 3 },
    ]);
    expect(samplesOf(samples, 'mesh_circuit_breaker_state', { dst_service: 'payment-service' })[0]!.value).toBeNaN();
    expect(samplesOf(samples, 'mesh_request_duration_seconds_bucket').map((s) => [s.labels['le'], s.value])).toEqual([
      ['0.001', 0],
      ['0.01', 1],
      ['+Inf', 1],
    ]);
  });
});

describe('samplesOf', () => {
  it('matches the exact name and every given label, whatever the other labels are', () => {
    const lines = ['m_total{a="1",b="x"} 1', 'm_total{a="1",b="y"} 2', 'm_total{a="2"} 4', 'm_total_other{a="1"} 8', 'm_total 16'];
    const samples = parsePrometheusText(lines.join('\n'));
    expect(samplesOf(samples, 'm_total', { a: '1' }).map((s) => s.value)).toEqual([1, 2]);
    expect(samplesOf(samples, 'm_total').map((s) => s.value)).toEqual([1, 2, 4, 16]);
    expect(samplesOf(samples, 'm_total', { a: '1', b: 'y' }).map((s) => s.value)).toEqual([2]);
    expect(samplesOf(samples, 'm_total', { c: '' })).toEqual([]);
  });
});
