import { connect } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createServiceApp } from './index';

describe('graceful shutdown', () => {
  it('finishes a request in flight, closes spare connections at once, and turns readiness off', async () => {
    const app = createServiceApp({ name: 'test', logger: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    app.get('/slow', async () => {
      started();
      await gate;
      return { done: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };

    // A client's spare keep-alive connection that never sends a request.
    const spare = connect(port, '127.0.0.1');
    await new Promise((r) => spare.once('connect', r));
    const spareClosed = new Promise((r) => spare.once('close', r));

    const inFlight = request(`http://127.0.0.1:${port}/slow`);
    await inHandler;
    let closed = false;
    const closing = app.close().then(() => (closed = true));

    await spareClosed; // the server dropped the spare connection while the request still runs
    expect(closed).toBe(false);
    release();
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ done: true });
    await closing;
    expect(closed).toBe(true);
    await expect(request(`http://127.0.0.1:${port}/slow`)).rejects.toThrow();
  });

  it('answers /readyz 503 once the app is draining, and 503 for a failing check', async () => {
    const app = createServiceApp({ name: 'test', logger: false });
    let dbUp = true;
    app.addReadinessCheck('db', () => dbUp);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    dbUp = false;
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not-ready', failed: ['db'] });
    dbUp = true;
    app.markDraining();
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'not-ready', failed: ['draining'] });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    await app.close();
  });
});
