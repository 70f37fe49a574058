// The PromQL reader the dashboard checks rely on: if it missed names, those checks would pass vacuously.
import { describe, expect, it } from 'vitest';
import { promqlNames, withGrafanaVariablesFilledIn } from './promql-names.ts';

describe('promqlNames', () => {
  it('finds metrics with their matchers, and grouping labels, but not functions, keywords or strings', () => {
    const expr = withGrafanaVariablesFilledIn(
      'histogram_quantile(0.99, sum by (le, dst_service) (rate(mesh_request_duration_seconds_bucket{direction=~"outbound|edge", dst_service=~"$dst_service"}[$__rate_interval])))' +
        ' / on (dst_service) group_left sum(rate(mesh_requests_total[5m] offset 1m)) or vector(0) > bool 1',
    );
    const names = promqlNames(expr);
    expect(names.selectors).toEqual([
      { metric: 'mesh_request_duration_seconds_bucket', matchers: ['direction', 'dst_service'] },
      { metric: 'mesh_requests_total', matchers: [] },
    ]);
    expect(names.groupingLabels).toEqual(['le', 'dst_service', 'dst_service']);
  });

  it('reports a selector without a metric name and grouping written after the aggregation', () => {
    const names = promqlNames('sum({__name__="x", job="y"}) without (instance)');
    expect(names.selectors).toEqual([{ metric: '', matchers: ['__name__', 'job'] }]);
    expect(names.groupingLabels).toEqual(['instance']);
  });

  it('fills Grafana variables in with values PromQL accepts', () => {
    expect(withGrafanaVariablesFilledIn('rate(x{a=~"$a", b=~"${b}"}[$__rate_interval])')).toBe('rate(x{a=~".*", b=~".*"}[1m])');
  });
});
