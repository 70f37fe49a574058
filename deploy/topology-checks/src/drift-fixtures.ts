// Deliberately broken copies for the drift specs: each shows a check catching one kind of drift, without touching the real files.
import type { Topology } from '@meshcart/topology';

/** `text` with `from` replaced by `to`; throws if `from` is not there exactly once, so a fixture never silently breaks nothing. */
export function edit(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`fixture: expected exactly one ${JSON.stringify(from)} in the file`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** A copy of the topology, changed by `change`: the real file stays as it is. */
export function withTopology(t: Topology, change: (copy: Topology) => void): Topology {
  const copy = structuredClone(t);
  change(copy);
  return copy;
}

/** A copy of the topology with one more instance of `service`. */
export const addInstance = (t: Topology, service: string, name: string, labels: Record<string, string>) =>
  withTopology(t, (c) => {
    c.services[service]!.instances.push({ name, labels });
  });

/** A canary of product-service the real topology does not have (v3: it never collides with the v2 the shop ships). */
export const addCanary = (t: Topology) => addInstance(t, 'product-service', 'product-service-v3-1', { version: 'v3' });

/** A service declared in the topology only, called by the gateway and calling product-service. */
export const addProbeService = (t: Topology) =>
  withTopology(t, (c) => {
    c.services['probe-service'] = { port: 3999, instances: [{ name: 'probe-service-1', labels: { version: 'v1' } }], calls: ['product-service'] };
    c.gateway.calls.push('probe-service');
  });

/**
 * The problems a broken copy has beyond those of the real file: so each fixture shows exactly what
 * its own break is reported as, and drift in the real file fails the real-file spec only, once.
 */
export const beyond = (real: string[]) => (broken: string[]) => broken.filter((p) => !real.includes(p));
