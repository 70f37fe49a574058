// Reads a service's settings from the environment once, with errors that name the variable.
import type { MeshClientOptions } from './mesh-client';

/** How this service takes part in the mesh; `proxyless` needs the control plane and an instance name. */
export interface ServiceMeshEnv extends MeshClientOptions {
  instance: string;
  controlPlaneUrls: string[];
  /** proxyless: the in-process mesh's admin port (metrics, config dump). */
  adminPort: number;
  /** Where that admin port binds: loopback by default, 0.0.0.0 in containers so Prometheus can scrape. */
  adminHost: string;
  /** The address peers reach this instance on (proxyless registers it as its endpoint). */
  advertiseHost: string;
  /**
   * proxyless: the mesh port the app serves itself (mTLS, as a sidecar's inbound port) and registers
   * as its endpoint; 0 picks a free one. It binds where the app does (HOST).
   */
  inboundPort: number;
  inboundHost: string;
  labels: Record<string, string>;
  /** Proves this service to the control plane when the mesh runs in-process (proxyless, off): see readJoinCredential. */
  join?: JoinCredentialSetting;
}

/** A join credential (MESH_JOIN_TOKEN), or a file holding one, read afresh for each use (MESH_JOIN_TOKEN_FILE). */
export type JoinCredentialSetting = { token: string } | { file: string };

/**
 * This workload's join credential: its own, handed to it by the launcher or the compose file
 * (MESH_JOIN_TOKEN), or on Kubernetes the path of its projected ServiceAccount token
 * (MESH_JOIN_TOKEN_FILE). Both set is a mistake, said as one.
 */
export function readJoinCredential(env: NodeJS.ProcessEnv): JoinCredentialSetting | undefined {
  const token = env['MESH_JOIN_TOKEN'];
  const file = env['MESH_JOIN_TOKEN_FILE'];
  if (token && file) throw new EnvError('MESH_JOIN_TOKEN_FILE', file, 'either MESH_JOIN_TOKEN or MESH_JOIN_TOKEN_FILE, not both');
  if (token) return { token };
  if (file) return { file };
  return undefined;
}

export interface ServiceEnv {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  mesh: ServiceMeshEnv;
}

export class EnvError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${expected}`);
    this.name = 'EnvError';
  }
}

export function readPort(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EnvError(variable, raw, 'an integer from 0 to 65535');
  return port;
}

export function readNumber(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new EnvError(variable, raw, `a number from ${min} to ${max}`);
  return value;
}

/** `user-service=http://127.0.0.1:3001,product-service=http://127.0.0.1:3002` */
export function parseUpstreams(raw: string, variable = 'MESH_UPSTREAMS'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, url] = part.split('=');
    if (!name || !url || !url.split('|').every((u) => /^https?:\/\//.test(u))) {
      throw new EnvError(
        variable,
        raw,
        'a list like "user-service=http://127.0.0.1:3001,product-service=http://127.0.0.1:3002|http://127.0.0.1:3012"',
      );
    }
    out[name.trim()] = url.trim();
  }
  return out;
}

/** `version=v2,zone=a` */
export function parseLabels(raw: string, variable = 'MESH_LABELS'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) throw new EnvError(variable, raw, 'a list like "version=v1,zone=a"');
    out[k.trim()] = v.trim();
  }
  return out;
}

export function readServiceEnv(name: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const mode = env['MESH_MODE'] ?? 'sidecar';
  if (mode !== 'sidecar' && mode !== 'proxyless' && mode !== 'off') {
    throw new EnvError('MESH_MODE', mode, '"sidecar", "proxyless" or "off"');
  }
  const host = env['HOST'] ?? '127.0.0.1';
  return {
    host,
    port: readPort(env, 'PORT', defaultPort),
    dataDir: env['DATA_DIR'] ?? '.data',
    logLevel: env['LOG_LEVEL'] ?? 'info',
    mesh: {
      service: name,
      mode,
      instance: env['MESH_INSTANCE'] ?? `${name}-${process.pid}`,
      outboundUrl: env['MESH_OUTBOUND_URL'] ?? 'http://127.0.0.1:15001',
      upstreams: parseUpstreams(env['MESH_UPSTREAMS'] ?? ''),
      controlPlaneUrls: (env['MESH_CONTROL_PLANE_URLS'] ?? 'http://127.0.0.1:15010')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      adminPort: readPort(env, 'MESH_ADMIN_PORT', 0),
      adminHost: env['MESH_ADMIN_HOST'] ?? '127.0.0.1',
      advertiseHost: env['ADVERTISE_HOST'] ?? (host === '0.0.0.0' ? '127.0.0.1' : host),
      inboundPort: readPort(env, 'MESH_INBOUND_PORT', 0),
      inboundHost: host,
      labels: parseLabels(env['MESH_LABELS'] ?? ''),
      ...(readJoinCredential(env) ? { join: readJoinCredential(env) } : {}),
    },
  };
}
