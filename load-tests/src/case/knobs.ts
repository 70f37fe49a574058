// The case's knobs: every difference between the baseline and optimized profiles, named, so each can be switched alone.
import type { MeshConfig } from '@meshcart/mesh-config';

export interface Knob {
  name: string;
  /** What switching it from baseline to optimized changes. */
  change: string;
  /** Paths in the config document this knob owns. */
  paths: string[];
}

export const KNOBS: Knob[] = [
  {
    name: 'connection-reuse',
    change: 'a new connection (and mTLS handshake) per request → pooled keep-alive connections',
    paths: ['spec.defaults.policy.connectionPool'],
  },
  { name: 'key-type', change: 'RSA-2048 → ECDSA P-256 workload keys', paths: ['spec.mtls.keyType'] },
  { name: 'load-balancer', change: 'round robin → least request (power of two choices)', paths: ['spec.defaults.policy.loadBalancer'] },
  {
    name: 'retries',
    change: '3 immediate retries on any 5xx, no budget → 2 retries with backoff on gateway errors, 20% budget, tighter timeouts',
    paths: ['spec.defaults.policy.retries', 'spec.defaults.policy.retryBudget', 'spec.defaults.policy.timeoutMs'],
  },
  {
    name: 'breakers',
    change: 'none → circuit breaker and outlier detection',
    paths: ['spec.defaults.policy.circuitBreaker', 'spec.defaults.policy.outlierDetection'],
  },
  { name: 'access-log', change: 'a blocking write per request → buffered, 1% sampled', paths: ['spec.defaults.accessLog'] },
  { name: 'route-matching', change: 'linear regex scan → compiled route table', paths: ['spec.defaults.routeMatching'] },
];

function get(doc: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
}

function set(doc: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = doc as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = structuredClone(value);
}

/** `target` with the given knobs taken from `source` (a new document; neither input changes). */
export function withKnobs(target: MeshConfig, source: MeshConfig, knobs: Knob[]): MeshConfig {
  const out = structuredClone(target);
  for (const knob of knobs) for (const path of knob.paths) set(out, path, get(source, path));
  return out;
}
