// Liveness and readiness endpoints, the way Kubernetes probes and the local launcher use them.
import type { FastifyInstance } from 'fastify';

export type ReadinessCheck = () => boolean | Promise<boolean>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds a named check that must pass for `/readyz` to answer 200. */
    addReadinessCheck(name: string, check: ReadinessCheck): void;
    /** Marks the instance as draining: `/readyz` answers 503 from now on. */
    markDraining(): void;
  }
}

/** Installed synchronously so routes can add readiness checks right after the app is created. */
export function installHealth(app: FastifyInstance): void {
  const checks = new Map<string, ReadinessCheck>();
  let draining = false;
  app.decorate('addReadinessCheck', (name: string, check: ReadinessCheck) => void checks.set(name, check));
  app.decorate('markDraining', () => void (draining = true));
  // Shutting down flips readiness first, so load balancers stop sending before the server closes.
  app.addHook('preClose', async () => void (draining = true));

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const failed: string[] = [];
    if (draining) failed.push('draining');
    for (const [name, check] of checks) {
      try {
        if (!(await check())) failed.push(name);
      } catch {
        failed.push(name);
      }
    }
    return failed.length === 0 ? { status: 'ready' } : reply.code(503).send({ status: 'not-ready', failed });
  });
}
