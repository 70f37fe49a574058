import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortsFree, ephemeralPlan, fixedPlan, INSTANCES, PortInUseError } from './port-plan';

const hints = { controlPlane: 'pass --control-plane-port', gateway: 'pass --gateway-port', base: 'pass --port-base' };
let held: Server | undefined;
afterEach(() => new Promise<void>((r) => (held ? held.close(() => r()) : r())));

describe('port plan', () => {
  it('gives every process of the fixed plan its own port', () => {
    const plan = fixedPlan({ controlPlane: 15010, gateway: 8080, base: 3100 });
    const ports = [
      plan.controlPlane,
      plan.controlPlaneTls,
      plan.gateway,
      plan.gatewayAdmin,
      ...Object.values(plan.instances).flatMap((p) => Object.values(p)),
    ];
    expect(new Set(ports).size).toBe(ports.length);
    expect(Object.keys(plan.instances)).toEqual(INSTANCES.map((i) => i.instance));
    expect(plan.instances['user-service-1']).toEqual({ app: 3110, inbound: 3111, outbound: 3112, admin: 3113, inboundH2c: 3114 });
  });

  it('picks distinct free ports for tests', async () => {
    const plan = await ephemeralPlan('127.0.0.1');
    const ports = Object.values(plan.instances).flatMap((p) => Object.values(p));
    // Outside the OS's ephemeral range, where outgoing connections could take them before a process binds them.
    expect(ports.every((p) => p >= 30_000 && p <= 32_767)).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('never hands out a port again while the process it was planned for may not have bound it yet', async () => {
    // The first plan's ports are released at once, as they are between a plan and its processes starting.
    const first = Object.values((await ephemeralPlan('127.0.0.1')).instances).flatMap((p) => Object.values(p));
    const second = Object.values((await ephemeralPlan('127.0.0.1')).instances).flatMap((p) => Object.values(p));
    expect(second.filter((p) => first.includes(p))).toEqual([]);
  });

  it('names the busy port, its owner in the plan and the flag that moves it', async () => {
    held = createServer();
    const port = await new Promise<number>((r) => held!.listen(0, '127.0.0.1', () => r((held!.address() as { port: number }).port)));
    const plan = fixedPlan({ controlPlane: 15010, gateway: port, base: 3100 });
    const err = await assertPortsFree({ ...plan, controlPlane: 0, controlPlaneTls: 0, instances: {}, gatewayAdmin: 0 }, '127.0.0.1', hints).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as Error).message).toBe(`port ${port} (gateway) is already in use on 127.0.0.1; stop what uses it, or pass --gateway-port`);
  });
});
