// Which port each process of the local mesh gets: a fixed, documented plan, or free ports for tests.
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspaceRoot } from '@meshcart/service-kit';
import { instancesOf, loadTopology, type InstanceSpec } from '@meshcart/topology';

export type { InstanceSpec };

/** Where the shop's instances are declared: every service, its instances and their labels. */
export const TOPOLOGY_FILE = join(workspaceRoot(), 'deploy/topology.yaml');

/** The local mesh: every instance deploy/topology.yaml declares, in its order. */
export const INSTANCES: InstanceSpec[] = instancesOf(loadTopology(TOPOLOGY_FILE));

export interface InstancePorts {
  app: number;
  inbound: number;
  outbound: number;
  admin: number;
  /** The sidecar's HTTP/2 cleartext inbound listener. */
  inboundH2c: number;
}

export interface PortPlan {
  controlPlane: number;
  /** The control plane's mTLS port (proxies with a certificate, replicas): the plain port + 2, as 15010 and 15012. */
  controlPlaneTls: number;
  gateway: number;
  gatewayAdmin: number;
  instances: Record<string, InstancePorts>;
}

export interface PortSettings {
  controlPlane: number;
  gateway: number;
  /** Instance n (from 1) uses base + 10n .. base + 10n + 4 for app, inbound, outbound, admin, inbound h2c. */
  base: number;
}

export const DEFAULT_PORTS: PortSettings = { controlPlane: 15010, gateway: 8080, base: 3100 };

export function fixedPlan(s: PortSettings): PortPlan {
  const instances: Record<string, InstancePorts> = {};
  INSTANCES.forEach((spec, i) => {
    const p = s.base + 10 * (i + 1);
    instances[spec.instance] = { app: p, inbound: p + 1, outbound: p + 2, admin: p + 3, inboundH2c: p + 4 };
  });
  return { controlPlane: s.controlPlane, controlPlaneTls: s.controlPlane + 2, gateway: s.gateway, gatewayAdmin: s.base + 9, instances };
}

/**
 * Ports for test meshes come from 30000–32767: below Linux's ephemeral range (32768–60999), where
 * the OS picks local ports for outgoing connections (a port picked there and released can be taken
 * by any client's connect() before our process binds it), and above the fixed bases other tests use
 * (12000–29999).
 */
const TEST_PORTS = { from: 30_000, to: 32_767 };

/**
 * A port handed out stays reserved, across processes, for this long: between a plan and the moment
 * its process binds the port, the port is free, and another test process planning at the same time
 * (nx runs projects in parallel) would otherwise be given it too.
 */
const RESERVATION_MS = 120_000;
const RESERVATIONS = join(tmpdir(), 'meshcart-test-ports');

/** Takes the port's reservation file unless a fresh one exists; a stale one (older than RESERVATION_MS) is taken over. */
function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      return true;
    } catch {
      try {
        if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
        unlinkSync(file);
      } catch {
        // Another process took it over or removed it meanwhile: try once more.
      }
    }
  }
  return false;
}

/** Binds a random free, unreserved port of the test range; the server stays open (holding it) until the caller closes it. */
async function holdFreePort(host: string): Promise<Server> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * (TEST_PORTS.to - TEST_PORTS.from + 1));
    if (!reserve(port)) continue;
    const srv = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => resolve(true));
    });
    if (bound) return srv;
  }
  throw new Error(`no free port found in ${TEST_PORTS.from}-${TEST_PORTS.to} on ${host} after 200 tries`);
}

/**
 * Tests: free ports of the test range. An app and its sidecar must know each other's ports before
 * either starts, so these are picked up front (port 0 with a report would need one to wait on the
 * other). Every port is held until all are chosen, and reserved for two minutes in a folder every
 * test process shares, so no port is handed out twice, in this process or another.
 */
export async function ephemeralPlan(host: string): Promise<PortPlan> {
  const held: Server[] = [];
  const next = async () => {
    const srv = await holdFreePort(host);
    held.push(srv);
    return (srv.address() as AddressInfo).port;
  };
  try {
    const instances: Record<string, InstancePorts> = {};
    for (const spec of INSTANCES) {
      instances[spec.instance] = { app: await next(), inbound: await next(), outbound: await next(), admin: await next(), inboundH2c: await next() };
    }
    return { controlPlane: 0, controlPlaneTls: 0, gateway: 0, gatewayAdmin: 0, instances };
  } finally {
    await Promise.all(held.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
}

export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
}

/** Checks every fixed port before anything starts, so a conflict is one clear message, not a half-started mesh. */
export async function assertPortsFree(plan: PortPlan, host: string, hints: { controlPlane: string; gateway: string; base: string }): Promise<void> {
  const wanted: [number, string, string][] = [
    [plan.controlPlane, 'control plane', hints.controlPlane],
    [plan.controlPlaneTls, 'control plane mTLS', hints.controlPlane],
    [plan.gateway, 'gateway', hints.gateway],
    [plan.gatewayAdmin, 'gateway admin', hints.base],
    ...Object.entries(plan.instances).flatMap(([name, p]) =>
      (Object.entries(p) as [string, number][]).map(([what, port]) => [port, `${name} ${what}`, hints.base] as [number, string, string]),
    ),
  ];
  for (const [port, what, hint] of wanted) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (!free) throw new PortInUseError(`port ${port} (${what}) is already in use on ${host}; stop what uses it, or ${hint}`);
  }
}
