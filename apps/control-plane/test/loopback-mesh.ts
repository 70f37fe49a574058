// Real control planes, proxies and relays on loopback for the cross-process tests; what one test starts is closed after it.
import { MeshRuntime } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach } from 'vitest';
import { buildApp, type ControlPlaneOptions } from '../src/app';
import { startApiRelay } from './api-relay';

export const deployDir = join(__dirname, '../../../deploy/mesh');
export const bootstrapToken = 'loopback-token';
const caDir = makeTempDir('meshcart-ca-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(() => caDir.remove());

/** A control plane on the optimized profile, sharing one CA with every other one this file starts. */
export async function startControlPlane(peers?: ControlPlaneOptions['peers']): Promise<string> {
  const app = buildApp({ configDir: deployDir, profile: 'optimized', logger: false, caDir: caDir.path, bootstrapToken, peers });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

export async function startRelay(...args: Parameters<typeof startApiRelay>) {
  const relay = await startApiRelay(...args);
  cleanups.push(() => relay.close());
  return relay;
}

/** A proxy registered with `cpUrl` and holding its first config; `identity`: it asks for a workload certificate too. */
export async function startProxy(
  cpUrl: string,
  opts: { service: string; instance: string; mode?: 'sidecar' | 'edge'; endpointUrl?: string; identity?: boolean },
): Promise<MeshRuntime> {
  const rt = new MeshRuntime({
    service: opts.service,
    instance: opts.instance,
    mode: opts.mode ?? 'sidecar',
    controlPlaneUrls: [cpUrl],
    admin: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    heartbeatIntervalMs: 100,
    ...(opts.identity ? { bootstrapToken } : {}),
  });
  rt.connect(await rt.startAdmin(), opts.endpointUrl);
  cleanups.push(() => rt.close());
  await rt.waitReady(5_000);
  return rt;
}
