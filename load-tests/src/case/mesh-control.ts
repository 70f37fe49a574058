// Changing the running mesh's config through the control plane, and waiting until every proxy runs it.
import type { MeshConfig } from '@meshcart/mesh-config';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { stringify } from 'yaml';

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const res = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export function loadProfile(controlPlaneUrl: string, profile: string): Promise<MeshConfig> {
  return call<MeshConfig>('GET', `${controlPlaneUrl}/api/v1/profiles/${profile}`);
}

/** Applies a whole config (as `meshctl apply` does) and waits until every proxy has ACKed it and holds the certificate it asks for. */
export async function applyConfig(controlPlaneUrl: string, config: MeshConfig, source: string): Promise<void> {
  await call('POST', `${controlPlaneUrl}/api/v1/config`, { yaml: stringify(config), source });
  await waitForConvergence(controlPlaneUrl, config.spec.mtls?.mode === 'DISABLE' ? undefined : config.spec.mtls?.keyType);
}

interface ProxyRow {
  service: string;
  instance: string;
  adminUrl: string | null;
  configVersion: string | null;
}

/**
 * Converged = each proxy ACKed the resources the control plane now compiles for its service, and
 * (with mTLS) its workload certificate has the key type the config asks for: a key-type change makes
 * every proxy fetch a new certificate after the push, and measuring before that would mix the two.
 */
export async function waitForConvergence(controlPlaneUrl: string, keyType?: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = '';
  while (Date.now() < deadline) {
    const proxies = await call<ProxyRow[]>('GET', `${controlPlaneUrl}/api/v1/proxies`);
    const wanted = new Map<string, string>();
    for (const service of new Set(proxies.map((p) => p.service))) {
      wanted.set(service, (await call<{ version: string }>('GET', `${controlPlaneUrl}/api/v1/services/${service}/resources`)).version);
    }
    const behind: string[] = [];
    for (const p of proxies) {
      if (p.configVersion !== wanted.get(p.service)) {
        behind.push(`${p.instance} (config)`);
        continue;
      }
      if (keyType && p.adminUrl && p.service !== 'gateway') {
        const dump = await call<{ identity?: { keyType?: string } | null }>('GET', `${p.adminUrl}/config_dump`);
        if (dump.identity?.keyType !== keyType) behind.push(`${p.instance} (certificate)`);
      }
    }
    if (behind.length === 0) return;
    waiting = behind.join(', ');
    await sleep(200);
  }
  throw new Error(`the mesh did not converge on the new config within ${timeoutMs} ms; still waiting for ${waiting}`);
}
