// The sidecar injection webhook (Kubernetes), served over HTTPS beside the API once the CA is loaded.
import type { ServiceAppOptions } from '@meshcart/service-kit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { CertificateAuthority } from '../certificate-authority';
import { startInjector, type InjectorOptions } from '../injector-server';

export interface InjectorPluginOptions {
  /** Loaded when the control plane gets ready, before this plugin's own ready hook. */
  ca: () => CertificateAuthority;
  /** Absent: no webhook (outside Kubernetes). */
  injector?: InjectorOptions;
  logger?: ServiceAppOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The injection webhook's HTTPS port, once listening (0 when it is not served). */
    injectorPort: number;
  }
}

async function injector(app: FastifyInstance, opts: InjectorPluginOptions) {
  let server: Awaited<ReturnType<typeof startInjector>> | undefined;
  app.decorate('injectorPort', 0);
  app.addHook('onReady', async () => {
    if (!opts.injector) return;
    server = await startInjector(opts.ca(), opts.injector, opts.logger);
    app.injectorPort = (server.server.address() as { port: number }).port;
  });
  app.addHook('onClose', async () => server?.close());
}

// Not encapsulated: the port is read on the app itself.
export const injectorPlugin = fp(injector, { name: 'injector', fastify: '5.x' });
