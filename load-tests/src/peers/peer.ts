// What every peer of the benchmark provides: a way to start it, send one request through it, and stop it.
import type { Send } from '../lib';

export const PEER_NAMES = [
  'direct',
  'node-forwarder',
  'fastify-http-proxy',
  'nginx',
  'haproxy',
  'meshcart-sidecar',
  'meshcart-sidecar-mtls',
  'meshcart-sidecar-full',
  'meshcart-proxyless',
] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface PeerContext {
  /** The shared upstream, e.g. http://127.0.0.1:41234 */
  upstreamUrl: string;
  /** The path every request asks for. */
  path: string;
  /** A private temporary folder for this peer's config, logs and state. */
  tmpDir: string;
  /** Progress to stderr. */
  log: (message: string) => void;
  /** Extra Node flags for the proxy processes (bench:peers --cpu-prof DIR sets --cpu-prof). */
  nodeArgs?: string[];
}

export interface RunningPeer {
  send: Send;
  /** The processes of each proxy on the path (nginx: master and worker); empty for in-process peers. */
  proxyPids: number[][];
  /** What the client side holds (pools, in-process mesh). */
  closeClient(): Promise<void>;
  /** Stops every process this peer started. */
  stop(): Promise<void>;
}

export interface Peer {
  name: PeerName;
  /** Proxies a request passes through on the way to the upstream. */
  proxies: number;
  /** One line on how it is set up, for the report. */
  setup: string;
  start(ctx: PeerContext): Promise<RunningPeer>;
}

/** The peer cannot run on this machine (e.g. its binary is missing): reported as skipped, not as a failure. */
export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError';
}
