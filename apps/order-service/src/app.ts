// order-service: places orders as a saga over user, product and payment, and keeps them in SQLite.
import { createServiceApp, type MeshClient, type ServiceApp } from '@meshcart/service-kit';
import type { FastifyServerOptions } from 'fastify';
import { join } from 'node:path';
import { orderRoutes } from './order-routes';
import { OrderStore } from './order-store';
import { PlaceOrderSaga, type RecoveryReport } from './place-order-saga';
import { TokenVerifier } from './token-verifier';

export interface BuildAppOptions {
  /** Holds `order-service.db`. */
  dataDir: string;
  /**
   * How to reach user-service, product-service and payment-service. The app takes ownership and
   * closes it in onClose: main hands it over, and runService closes only the app on shutdown.
   */
  mesh: MeshClient;
  logger?: FastifyServerOptions['logger'];
  /** Longest wait for one call of a saga step before it counts as unanswered (default 5 s). */
  stepTimeoutMs?: number;
  /** A pending order that has not moved for this long is treated as interrupted (default 30 s). */
  interruptedAfterMs?: number;
  /** Run the recovery sweep at ready and then this often; 0 (default) leaves it to the caller. */
  recoveryIntervalMs?: number;
  /** Pauses between retries of a compensation call (default [100, 300] ms: three attempts). */
  compensationBackoffMs?: readonly number[];
  /** Least time between JWKS refetches for unknown key ids (default 30 s). */
  jwksRefetchIntervalMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Compensates orders left pending by an interrupted saga; see PlaceOrderSaga.recoverPendingOrders. */
    recoverPendingOrders(): Promise<RecoveryReport>;
  }
}

export async function buildApp(opts: BuildAppOptions): Promise<ServiceApp> {
  const app = createServiceApp({ name: 'order-service', logger: opts.logger });
  const store = OrderStore.open(join(opts.dataDir, 'order-service.db'));
  const saga = new PlaceOrderSaga({
    store,
    mesh: opts.mesh,
    stepTimeoutMs: opts.stepTimeoutMs,
    compensationBackoffMs: opts.compensationBackoffMs,
  });
  const verifier = new TokenVerifier({
    mesh: opts.mesh,
    refetchIntervalMs: opts.jwksRefetchIntervalMs,
    timeoutMs: opts.stepTimeoutMs,
  });
  const interruptedAfterMs = opts.interruptedAfterMs ?? 30_000;
  const recoveryLog = app.log.child({ component: 'order-recovery' });

  app.decorate('recoverPendingOrders', () => saga.recoverPendingOrders(interruptedAfterMs, recoveryLog));
  app.addReadinessCheck('database', () => store.isHealthy());

  let sweepTimer: NodeJS.Timeout | undefined;
  if (opts.recoveryIntervalMs && opts.recoveryIntervalMs > 0) {
    const sweep = () =>
      void app.recoverPendingOrders().then(
        (report) => {
          if (report.interrupted.length + report.compensated.length + report.compensationIncomplete.length > 0) {
            recoveryLog.info(report, 'order recovery: sweep finished');
          }
        },
        (err: unknown) => recoveryLog.error({ err }, 'order recovery: sweep failed'),
      );
    // Not awaited: a dependency that is down at startup must not keep the service from listening.
    app.addHook('onReady', async () => {
      sweep();
      sweepTimer = setInterval(sweep, opts.recoveryIntervalMs).unref();
    });
  }

  app.addHook('onClose', async () => {
    clearInterval(sweepTimer);
    // Sagas still running write to the store and call out: let them finish first.
    await saga.drain();
    await opts.mesh.close();
    store.close();
  });

  await app.register(orderRoutes, { saga, store, verifier });
  return app;
}
