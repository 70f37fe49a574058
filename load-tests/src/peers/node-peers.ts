// The baseline and the two Node proxies: direct, a minimal node:http + undici forwarder, bare @fastify/http-proxy.
import { ManagedProcess } from '@meshcart/service-kit';
import { bundleEntry } from '../lib';
import { httpClient, waitUntilServing } from './http-client';
import type { Peer, PeerContext, RunningPeer } from './peer';

export const direct: Peer = {
  name: 'direct',
  proxies: 0,
  setup: 'client → upstream, keep-alive undici Pool',
  async start(ctx) {
    const client = httpClient(ctx.upstreamUrl, ctx.path);
    return { send: client.send, proxyPids: [], closeClient: client.close, stop: async () => undefined };
  },
};

/** One proxy as a process of its own (bundled JavaScript, like every Node peer) that reports its port, forwarding to the upstream. */
async function nodeProxy(name: string, entry: string, ctx: PeerContext): Promise<RunningPeer> {
  const proc = await ManagedProcess.start({
    name,
    entry: await bundleEntry(entry),
    readyTimeoutMs: 60_000,
    env: { PORT: '0', UPSTREAM_URL: ctx.upstreamUrl, LOG_LEVEL: 'warn' },
    nodeArgs: ctx.nodeArgs,
  });
  const client = httpClient(`http://127.0.0.1:${proc.ports['http']}`, ctx.path);
  try {
    await waitUntilServing(client.send, name);
  } catch (err) {
    await client.close();
    await proc.stop();
    throw err;
  }
  return { send: client.send, proxyPids: [[proc.pid!]], closeClient: client.close, stop: async () => void (await proc.stop()) };
}

export const nodeForwarder: Peer = {
  name: 'node-forwarder',
  proxies: 1,
  setup: 'node:http server forwarding through one undici Pool (64 keep-alive connections), bodies streamed',
  start: (ctx) => nodeProxy('node-forwarder', 'load-tests/src/peers/node-forwarder.ts', ctx),
};

export const fastifyHttpProxy: Peer = {
  name: 'fastify-http-proxy',
  proxies: 1,
  setup: 'Fastify 5 + @fastify/http-proxy 11, only `upstream` set (its default undici pool, keep-alive)',
  start: (ctx) => nodeProxy('fastify-http-proxy', 'load-tests/src/peers/fastify-proxy.ts', ctx),
};
