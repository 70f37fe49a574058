// The load generator's side of every HTTP peer: one keep-alive undici Pool and a `send` that reads the whole body.
import { Pool, type Dispatcher } from 'undici';
import type { Send } from '../lib';

/** Connections enough for the closed-loop concurrency, so the client never queues behind its own pool. */
export const CLIENT_CONNECTIONS = 128;

/** `send` for any dispatcher: GET `path`, whole body read, non-2xx rejected with the status and the start of the body. */
export function sendVia(dispatcher: Dispatcher, origin: string, path: string, headers: Record<string, string> = {}): Send {
  return async () => {
    const res = await dispatcher.request({ origin, path, method: 'GET', headers });
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = (await res.body.text()).slice(0, 200);
      throw new Error(`HTTP ${res.statusCode}: ${text}`);
    }
    await res.body.dump();
  };
}

export function httpClient(url: string, path: string, headers: Record<string, string> = {}): { send: Send; close: () => Promise<void> } {
  const pool = new Pool(url, { connections: CLIENT_CONNECTIONS, keepAliveTimeout: 60_000, pipelining: 1 });
  return { send: sendVia(pool, url, path, headers), close: () => pool.close() };
}

/** Retries one request until it answers 2xx: the peer is up and wired to the upstream. */
export async function waitUntilServing(send: Send, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      await send(0);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not serve a request within ${timeoutMs} ms: ${last}`);
}
