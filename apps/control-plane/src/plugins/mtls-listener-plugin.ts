// The control plane's mTLS port: proxies holding a workload certificate and other replicas call the same API here, proven by their certificates.
import { ControlPlaneMtls } from '@meshcart/control-plane-api';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CONTROL_PLANE_ACCOUNT } from '../auth/caller';
import { spiffeId, type CertificateAuthority } from '../certificate-authority';

export interface MtlsListenerOptions {
  ca: () => CertificateAuthority;
  /** The trust domain and namespace of the control plane's own SPIFFE ID, from the config in force. */
  identity: () => { trustDomain: string; namespace: string };
  host: string;
  /** 0: any free port (tests). */
  port: number;
}

/** The control plane's own key and certificate (sa/control-plane), and the root it trusts. */
export interface OwnCredentials {
  key: string;
  cert: string;
  ca: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The mTLS port, once listening. */
    tlsPort: number;
    /** What this control plane presents on its mTLS port and to other replicas; renewed in place. */
    ownCredentials?: OwnCredentials;
    /** Re-issues the control plane's own certificate and trust bundle now (the CA's roots changed). */
    refreshOwnIdentity: () => Promise<void>;
  }
}

/** The control plane's own certificate lives a day and is renewed at two thirds of it. */
const IDENTITY_TTL_MS = 24 * 3_600_000;

async function mtlsListener(app: FastifyInstance, opts: MtlsListenerOptions) {
  let server: Server | undefined;
  let renewal: NodeJS.Timeout | undefined;
  app.decorate('tlsPort', 0);
  app.decorate('ownCredentials', undefined);
  // Where the mTLS port is, for a replica or proxy that knows only the plain URL: the handshake
  // there proves the answer (a server without this mesh's control-plane certificate is refused).
  app.get('/api/v1/mtls', { schema: { response: { 200: ControlPlaneMtls } } }, async () => ({ port: app.tlsPort, ca: opts.ca().rootFingerprint }));

  const credentials = async (): Promise<OwnCredentials> => {
    const { trustDomain, namespace } = opts.identity();
    const own = await opts.ca().issueIdentity(spiffeId(trustDomain, namespace, CONTROL_PLANE_ACCOUNT), IDENTITY_TTL_MS);
    app.ownCredentials = { key: own.keyPem, cert: own.certificatePem, ca: opts.ca().rootPem };
    return app.ownCredentials;
  };
  app.decorate('refreshOwnIdentity', async () => {
    const c = await credentials();
    server?.setSecureContext(c);
  });
  const renew = () => {
    renewal = setTimeout(
      () => {
        credentials()
          .then((c) => server?.setSecureContext(c))
          .catch((err: Error) => app.log.error({ err }, "could not renew the control plane's own certificate"))
          .finally(renew);
      },
      (IDENTITY_TTL_MS * 2) / 3,
    );
    renewal.unref();
  };

  app.addHook('onReady', async () => {
    // A client certificate is asked for, not required: a workload before its first certificate
    // comes here with its join credential. Who may do what is decided per call (auth.ts).
    server = createServer({ ...(await credentials()), requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 75_000 }, (req, res) =>
      app.routing(req, res),
    );
    // A renegotiation could present another certificate on a connection already judged.
    server.on('secureConnection', (socket) => socket.disableRenegotiation());
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.port, opts.host, () => resolve());
    });
    app.tlsPort = (server.address() as AddressInfo).port;
    renew();
  });

  app.addHook('onClose', async () => {
    clearTimeout(renewal);
    if (!server) return;
    const closed = new Promise((resolve) => server!.close(resolve));
    server.closeAllConnections();
    await closed;
  });
}

// Not encapsulated: the port is read on the app itself, and requests run the app's own routes.
export const mtlsListenerPlugin = fp(mtlsListener, { name: 'mtls-listener', fastify: '5.x' });
