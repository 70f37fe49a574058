// Changing the running mesh's config through the control plane, and waiting until every proxy runs it.
import { ConfigApplied, ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { MeshConfigSchema, ResourcesSnapshot, type MeshConfig } from '@meshcart/mesh-config';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { stringify } from 'yaml';

/** The part of a proxy's /config_dump (its admin port, not the control plane) read here: its workload certificate's key type. */
const ProxyIdentity = Type.Object({ identity: Type.Optional(Type.Union([Type.Null(), Type.Object({ keyType: Type.Optional(Type.String()) })])) });

/** One call to the control plane, its answer checked against the API contract (`schema`). */
async function call<T extends TSchema>(method: 'GET' | 'POST', url: string, schema: T, body?: unknown, operatorToken?: string): Promise<Static<T>> {
  const res = await request(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(operatorToken ? { authorization: `Bearer ${operatorToken}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${text.slice(0, 300)}`);
  return new ContractCheck(schema).verify(JSON.parse(text), `${method} ${url}`);
}

export function loadProfile(controlPlaneUrl: string, profile: string): Promise<MeshConfig> {
  return call('GET', `${controlPlaneUrl}/api/v1/profiles/${profile}`, MeshConfigSchema);
}

/**
 * Applies a whole config (as `meshctl apply` does, with the operator credential the launcher's
 * control plane wrote) and waits until every proxy has ACKed it and holds the certificate it asks for.
 */
export async function applyConfig(mesh: { controlPlaneUrl: string; operatorToken(): string }, config: MeshConfig, source: string): Promise<void> {
  const controlPlaneUrl = mesh.controlPlaneUrl;
  await call('POST', `${controlPlaneUrl}/api/v1/config`, ConfigApplied, { yaml: stringify(config), source }, mesh.operatorToken());
  await waitForConvergence(controlPlaneUrl, config.spec.mtls?.mode === 'DISABLE' ? undefined : config.spec.mtls?.keyType);
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
    const proxies = await call('GET', `${controlPlaneUrl}/api/v1/proxies`, ProxyList);
    const wanted = new Map<string, string>();
    for (const service of new Set(proxies.map((p) => p.service))) {
      wanted.set(service, (await call('GET', `${controlPlaneUrl}/api/v1/services/${service}/resources`, ResourcesSnapshot)).version);
    }
    const behind: string[] = [];
    for (const p of proxies) {
      if (p.configVersion !== wanted.get(p.service)) {
        behind.push(`${p.instance} (config)`);
        continue;
      }
      if (keyType && p.adminUrl && p.service !== 'gateway') {
        const dump = await call('GET', `${p.adminUrl}/config_dump`, ProxyIdentity);
        if (dump.identity?.keyType !== keyType) behind.push(`${p.instance} (certificate)`);
      }
    }
    if (behind.length === 0) return;
    waiting = behind.join(', ');
    await sleep(200);
  }
  throw new Error(`the mesh did not converge on the new config within ${timeoutMs} ms; still waiting for ${waiting}`);
}
