// Real control planes, proxies and relays on loopback for the cross-process tests; what one test starts is closed after it.
import { MeshRuntime } from '@meshcart/sidecar';
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, expect, vi } from 'vitest';
import { loadMeshConfigFile } from '@meshcart/mesh-config';
import { buildApp, type ControlPlaneOptions } from '../src/app';
import { CertificateAuthority } from '../src/certificate-authority';
import { startApiRelay } from './api-relay';
import { access, joinOf } from './credentials';

export const deployDir = join(__dirname, '../../../deploy/mesh');
const caDir = makeTempDir('meshcart-ca-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(() => caDir.remove());

/** A control plane on the optimized profile, sharing one CA with every other one this file starts. */
export async function startControlPlane(peers?: ControlPlaneOptions['peers']): Promise<string> {
  const app = buildApp({ configDir: deployDir, profile: 'optimized', logger: false, caDir: caDir.path, ...access, peers });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

export async function startRelay(...args: Parameters<typeof startApiRelay>) {
  const relay = await startApiRelay(...args);
  cleanups.push(() => relay.close());
  return relay;
}

/** A relay in front of a replica, which also relays the mTLS port replicas call each other on (as a control plane of this CA). */
export async function startReplicaRelay(target: string) {
  const { spec } = loadMeshConfigFile(join(deployDir, 'optimized.yaml'));
  const ca = await CertificateAuthority.loadOrCreate(caDir.path, spec.trustDomain ?? 'meshcart.local');
  const spiffeId = `spiffe://${spec.trustDomain ?? 'meshcart.local'}/ns/${spec.namespace ?? 'default'}/sa/control-plane`;
  const own = await ca.issueIdentity(spiffeId, 3_600_000);
  return startRelay(target, undefined, { key: own.keyPem, cert: own.certificatePem, ca: ca.rootPem, spiffeId });
}

/** A proxy registered with `cpUrl` with its service's join credential, holding its first config (and, mTLS on, soon a certificate). */
export async function startProxy(
  cpUrl: string,
  opts: { service: string; instance: string; mode?: 'sidecar' | 'edge'; endpointUrl?: string },
): Promise<MeshRuntime> {
  const rt = new MeshRuntime({
    service: opts.service,
    instance: opts.instance,
    mode: opts.mode ?? 'sidecar',
    controlPlaneUrls: [cpUrl],
    admin: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    heartbeatIntervalMs: 100,
    join: joinOf(opts.service),
  });
  // A sidecar's endpoint speaks mTLS (the control plane refuses one registered as plaintext).
  rt.connect(await rt.startAdmin(), opts.endpointUrl, undefined, opts.endpointUrl !== undefined);
  cleanups.push(() => rt.close());
  await rt.waitReady(5_000);
  // Ready as a proxy is: config applied and, mTLS on, its certificate in hand.
  await vi.waitFor(() => expect(rt.ready(), `${opts.instance} ready (config and certificate)`).toBe(true), { timeout: 5_000, interval: 20 });
  return rt;
}
