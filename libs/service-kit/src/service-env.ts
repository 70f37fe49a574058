// Reads a service's settings from the environment once, with errors that name the variable.
import type { MeshClientOptions } from './mesh-client';

export interface ServiceEnv {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  mesh: MeshClientOptions;
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
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, url] = part.split('=');
    if (!name || !url || !/^https?:\/\//.test(url)) throw new EnvError(variable, raw, 'a list like "user-service=http://127.0.0.1:3001,..."');
    out[name.trim()] = url.trim();
  }
  return out;
}

export function readServiceEnv(name: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const mode = env['MESH_MODE'] ?? 'sidecar';
  if (mode !== 'sidecar' && mode !== 'off') throw new EnvError('MESH_MODE', mode, '"sidecar" or "off"');
  return {
    host: env['HOST'] ?? '127.0.0.1',
    port: readPort(env, 'PORT', defaultPort),
    dataDir: env['DATA_DIR'] ?? '.data',
    logLevel: env['LOG_LEVEL'] ?? 'info',
    mesh: {
      service: name,
      mode,
      outboundUrl: env['MESH_OUTBOUND_URL'] ?? 'http://127.0.0.1:15001',
      upstreams: parseUpstreams(env['MESH_UPSTREAMS'] ?? ''),
    },
  };
}
