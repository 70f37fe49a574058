// The web dashboard: its built files at the root, and its live feed as server-sent events (read like any other view).
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Auth } from '../auth/auth';
import type { DashboardFeed } from '../dashboard/dashboard-feed';
import { notBuiltPage } from '../dashboard/not-built-page';

export interface DashboardPluginOptions {
  feed: DashboardFeed;
  auth: Auth;
  /** The built dashboard (dist/dashboard); the root explains how to build it when it holds no index.html. */
  dir: string | undefined;
}

/** A comment line now and then keeps idle proxies and load balancers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export const dashboardPlugin: FastifyPluginAsyncTypebox<DashboardPluginOptions> = async (app, { feed, auth, dir }) => {
  const open = new Set<ServerResponse>();
  // Streams never end on their own: close them so the server can finish closing.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    feed.stop();
  });

  app.get('/api/v1/dashboard/stream', { preValidation: auth.reader('the dashboard stream'), logLevel: 'warn' }, async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`retry: ${feed.intervalMs}\n\n`);
    open.add(res);
    const send = (s: DashboardSnapshot) => res.write(`event: snapshot\nid: ${s.seq}\ndata: ${JSON.stringify(s)}\n\n`);
    const unsubscribe = feed.subscribe(send);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    req.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      open.delete(res);
    });
  });

  if (dir) await app.register(fastifyStatic, { root: dir, prefix: '/', index: false, wildcard: true, suppressWarning: true });
  const index = dir && join(dir, 'index.html');
  app.get('/', async (_req, reply) => {
    // Checked on every request: a dashboard built after the control plane started is served at once.
    if (index && existsSync(index)) return reply.header('cache-control', 'no-cache').sendFile('index.html');
    return reply.code(503).type('text/html; charset=utf-8').send(notBuiltPage(dir));
  });
};
