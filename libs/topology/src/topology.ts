// The shop's topology, declared once (deploy/topology.yaml): its services, their instances and ports, and who calls whom.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const Name = Type.String({ pattern: '^[a-z][a-z0-9-]*$', maxLength: 63 });

export const TopologyInstance = Type.Object(
  {
    /** Unique in the mesh: the proxy's instance name, the compose service, the process name. */
    name: Name,
    /** Labels the mesh routes on (a traffic split by `version`, a header route). */
    labels: Type.Record(Type.String(), Type.String()),
  },
  { additionalProperties: false },
);

export const TopologyService = Type.Object(
  {
    /** The port the app listens on in its container or pod (and the base of npm start's ports). */
    port: Type.Integer({ minimum: 1024, maximum: 65535 }),
    instances: Type.Array(TopologyInstance, { minItems: 1 }),
    /** The services this one calls through the mesh: what the authorization rules allow it. */
    calls: Type.Array(Name),
  },
  { additionalProperties: false },
);

export const TopologySchema = Type.Object(
  {
    apiVersion: Type.Literal('meshcart.io/v1alpha1'),
    kind: Type.Literal('Topology'),
    services: Type.Record(Name, TopologyService),
    /** The gateway: the services the public API reaches. */
    gateway: Type.Object({ calls: Type.Array(Name) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type Topology = Static<typeof TopologySchema>;

export interface InstanceSpec {
  service: string;
  instance: string;
  labels: Record<string, string>;
}

/** A topology that cannot be used: every problem, each with the path it is at. */
export class TopologyError extends Error {
  readonly code = 'TOPOLOGY_INVALID';
  constructor(
    source: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(`${source}: invalid topology:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`);
  }
}

const check = TypeCompiler.Compile(TopologySchema);

/** Checks a parsed topology whole: its shape, then that names are unique and every call names a service. */
export function validateTopology(value: unknown, source: string): Topology {
  const shape = [...check.Errors(value)].map((e) => ({ path: e.path.replace(/^\//, '').replace(/\//g, '.') || '(root)', message: e.message }));
  if (shape.length) throw new TopologyError(source, shape);
  const t = value as Topology;
  const problems: { path: string; message: string }[] = [];
  const seen = new Map<string, string>();
  const ports = new Map<number, string>();
  for (const [service, s] of Object.entries(t.services)) {
    if (service === 'gateway') problems.push({ path: `services.${service}`, message: 'the gateway is declared under gateway, not as a service' });
    const taken = ports.get(s.port);
    if (taken) problems.push({ path: `services.${service}.port`, message: `${s.port} is ${taken}'s port too` });
    ports.set(s.port, service);
    s.instances.forEach((i, n) => {
      const other = seen.get(i.name);
      if (other) problems.push({ path: `services.${service}.instances.${n}.name`, message: `"${i.name}" is already an instance of ${other}` });
      seen.set(i.name, service);
    });
    s.calls.forEach((c, n) => {
      if (!(c in t.services))
        problems.push({ path: `services.${service}.calls.${n}`, message: `no service "${c}"; known: ${Object.keys(t.services).join(', ')}` });
      if (c === service) problems.push({ path: `services.${service}.calls.${n}`, message: 'a service does not call itself through the mesh' });
    });
  }
  t.gateway.calls.forEach((c, n) => {
    if (!(c in t.services)) problems.push({ path: `gateway.calls.${n}`, message: `no service "${c}"; known: ${Object.keys(t.services).join(', ')}` });
  });
  if (problems.length) throw new TopologyError(source, problems);
  return t;
}

export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError(file, [{ path: '(file)', message: (err as Error).message }]);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new TopologyError(file, [{ path: '(yaml)', message: (err as Error).message }]);
  }
  return validateTopology(value, file);
}

/** Every instance, in declaration order: what npm start runs. */
export function instancesOf(t: Topology): InstanceSpec[] {
  return Object.entries(t.services).flatMap(([service, s]) => s.instances.map((i) => ({ service, instance: i.name, labels: i.labels })));
}

/** Who calls `service` (the gateway included): what its authorization rules must allow, and nothing else. */
export function callersOf(t: Topology, service: string): string[] {
  const callers = Object.entries(t.services)
    .filter(([, s]) => s.calls.includes(service))
    .map(([name]) => name);
  return [...(t.gateway.calls.includes(service) ? ['gateway'] : []), ...callers];
}
