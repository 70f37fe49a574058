import { describe, expect, it } from 'vitest';
import { ConfigError, parseMeshConfig } from './index';

const valid = `
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: test }
spec:
  services:
    user-service: {}
    order-service:
      routes:
        - name: place-order
          match: { pathExact: /orders, methods: [POST] }
          timeoutMs: 100
`;

function issuesOf(text: string) {
  try {
    parseMeshConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('MeshConfig validation', () => {
  it('accepts a valid config', () => {
    expect(parseMeshConfig(valid).spec.services['order-service']?.routes?.[0]?.timeoutMs).toBe(100);
  });

  it('names the path and the allowed values of a wrong enum', () => {
    const issues = issuesOf(valid.replace('services:', 'defaults: { policy: { loadBalancer: { policy: FASTEST } } }\n  services:'));
    expect(issues).toContainEqual({
      path: 'spec.defaults.policy.loadBalancer.policy',
      message: 'must be one of "ROUND_ROBIN", "LEAST_REQUEST", "PEAK_EWMA", "RANDOM", "CONSISTENT_HASH"',
    });
  });

  it('reports every problem at once, including unknown settings and out-of-range numbers', () => {
    const issues = issuesOf(valid.replace('timeoutMs: 100', 'timeoutMs: 0\n          retrys: 3'));
    expect(issues.map((i) => i.path).sort()).toEqual([
      'spec.services.order-service.routes[0].retrys',
      'spec.services.order-service.routes[0].timeoutMs',
    ]);
    expect(issues.find((i) => i.path.endsWith('retrys'))?.message).toBe('is not a known setting');
    expect(issues.find((i) => i.path.endsWith('timeoutMs'))?.message).toBe('must be >= 1');
  });

  it('rejects negative counts, percentages over 100 and unknown retry conditions', () => {
    const issues = issuesOf(
      valid.replace(
        'timeoutMs: 100',
        `timeoutMs: 100
          retries: { attempts: -1, retryOn: [5xx, sometimes] }
          fault: { abort: { httpStatus: 503, percent: 150 } }`,
      ),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['spec.services.order-service.routes[0].retries.attempts']).toBe('must be >= 0');
    expect(byPath['spec.services.order-service.routes[0].fault.abort.percent']).toBe('must be <= 100');
    expect(Object.keys(byPath).some((p) => p.startsWith('spec.services.order-service.routes[0].retries.retryOn[1]'))).toBe(true);
  });

  it("accepts the seed article's circuit-breaker keys as written there", () => {
    const config = parseMeshConfig(
      valid.replace(
        '    user-service: {}',
        `    user-service:
      policy:
        circuitBreaker:
          maxConnections: 100
          httpMaxPendingRequests: 100
          httpMaxRequests: 100
          sleepWindow: 30s
          requestVolumeThreshold: 10
          errorThresholdPercentage: 50`,
      ),
    );
    expect(config.spec.services['user-service']?.policy?.circuitBreaker?.sleepWindow).toBe('30s');
  });

  it('rejects service names that are not DNS labels', () => {
    const issues = issuesOf(valid.replace('user-service: {}', 'User_Service: {}'));
    expect(issues[0]?.path).toBe('spec.services.User_Service');
  });

  it('rejects edge routes to unknown services, naming the known ones', () => {
    const issues = issuesOf(`${valid}
  edge:
    routes:
      - name: pay
        match: { pathPrefix: /api/pay }
        service: payment-service
`);
    expect(issues).toEqual([
      { path: 'spec.edge.routes[0].service', message: 'unknown service "payment-service"; known: user-service, order-service' },
    ]);
  });

  it('rejects a route match with both or neither of pathPrefix and pathExact', () => {
    const issues = issuesOf(valid.replace('match: { pathExact: /orders, methods: [POST] }', 'match: { methods: [POST] }'));
    expect(issues).toEqual([{ path: 'spec.services.order-service.routes[0].match', message: 'set exactly one of pathPrefix or pathExact' }]);
  });

  it('reports YAML syntax errors with a line number', () => {
    const issues = issuesOf('spec: [unclosed');
    expect(issues[0]?.path).toMatch(/^line 1/);
  });
});
