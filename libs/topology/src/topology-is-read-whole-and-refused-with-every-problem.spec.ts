import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callersOf, instancesOf, loadTopology, TopologyError, validateTopology } from './topology';

const shipped = join(__dirname, '../../../deploy/topology.yaml');

const minimal = () => ({
  apiVersion: 'meshcart.io/v1alpha1',
  kind: 'Topology',
  services: {
    a: { port: 3001, instances: [{ name: 'a-1', labels: { version: 'v1' } }], calls: ['b'] },
    b: { port: 3002, instances: [{ name: 'b-1', labels: {} }], calls: [] },
  },
  gateway: { calls: ['a'] },
});

const problems = (value: unknown) => {
  try {
    validateTopology(value, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    return (err as TopologyError).problems;
  }
  throw new Error('accepted');
};

describe('the topology', () => {
  // A fork's generated services (npm run new-service) come after the shop's own, and may call product-service.
  it('ships valid: every instance of the shop, in order, and who calls whom', () => {
    const t = loadTopology(shipped);
    expect(
      instancesOf(t)
        .map((i) => i.instance)
        .slice(0, 6),
    ).toEqual(['user-service-1', 'product-service-1', 'product-service-2', 'product-service-v2-1', 'order-service-1', 'payment-service-1']);
    expect(callersOf(t, 'payment-service')).toEqual(['order-service']);
    expect(callersOf(t, 'product-service').slice(0, 2)).toEqual(['gateway', 'order-service']);
  });

  it('refuses a malformed one whole, naming every field and why', () => {
    const bad = minimal() as Record<string, unknown> & ReturnType<typeof minimal>;
    (bad.services.a as Record<string, unknown>)['port'] = 80;
    (bad.services.b as Record<string, unknown>)['replicas'] = 2;
    expect(problems(bad)).toEqual([
      { path: 'services.a.port', message: 'Expected integer to be greater or equal to 1024' },
      { path: 'services.b.replicas', message: 'Unexpected property' },
    ]);
  });

  it('refuses an instance name used twice, a port used twice, a call to no service, and a self-call', () => {
    const t = minimal();
    t.services.b.instances[0]!.name = 'a-1';
    t.services.b.port = 3001;
    t.services.a.calls = ['b', 'c', 'a'];
    t.gateway.calls = ['nope'];
    expect(problems(t)).toEqual([
      { path: 'services.a.calls.1', message: 'no service "c"; known: a, b' },
      { path: 'services.a.calls.2', message: 'a service does not call itself through the mesh' },
      { path: 'services.b.port', message: "3001 is a's port too" },
      { path: 'services.b.instances.0.name', message: '"a-1" is already an instance of a' },
      { path: 'gateway.calls.0', message: 'no service "nope"; known: a, b' },
    ]);
  });

  it('says which file it could not read or parse', () => {
    expect(() => loadTopology('/nonexistent/topology.yaml')).toThrow(/\/nonexistent\/topology.yaml: invalid topology:\n {2}- \(file\): ENOENT/);
  });
});
