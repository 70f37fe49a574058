// A sidecar-mode proxy runtime as these tests start it: registered with its join credential, its endpoint speaking mTLS.
import { MeshRuntime } from '@meshcart/sidecar';
import pino from 'pino';
import { joinOf } from './credentials';

/**
 * Registers `instance` of `service` with the control plane at `url`, heartbeating every 100 ms,
 * with its own service's join credential unless `join` says otherwise. Returns the runtime and its
 * admin URL; the caller closes it.
 */
export async function startSidecarProxy(opts: {
  url: string;
  service: string;
  instance: string;
  endpointUrl?: string;
  join?: { token: string } | { file: string };
}): Promise<{ rt: MeshRuntime; adminUrl: string }> {
  const rt = new MeshRuntime({
    service: opts.service,
    instance: opts.instance,
    mode: 'sidecar',
    controlPlaneUrls: [opts.url],
    admin: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    heartbeatIntervalMs: 100,
    join: opts.join ?? joinOf(opts.service),
  });
  const adminUrl = await rt.startAdmin();
  rt.connect(adminUrl, opts.endpointUrl ?? 'http://127.0.0.1:7', undefined, true);
  return { rt, adminUrl };
}
