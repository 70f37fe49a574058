// The control plane's API as the dashboard calls it: typed by the contract (libs/control-plane-api), the operator credential as Bearer.
import type { ConfigApplied, ConfigHistory, ConfigSummary, CurrentConfig, DrainState, ProfileList } from '@meshcart/control-plane-api';
import type { ConfigChange, Fault } from '@meshcart/mesh-config';

const TOKEN_KEY = 'meshcart.operatorToken';

/** The operator credential lives for this tab only (sessionStorage): pasted once, sent with every call. */
export const credential = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (token: string): void => (token ? sessionStorage.setItem(TOKEN_KEY, token) : sessionStorage.removeItem(TOKEN_KEY)),
};

/** A refusal or failure, with the control plane's stable code and reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  const token = credential.get();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path.replace(/^\//, ''), {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text || res.statusText));
  }
  return json as T;
}

export const api = {
  config: () => call<CurrentConfig>('GET', '/api/v1/config'),
  history: () => call<ConfigHistory>('GET', '/api/v1/config/history'),
  diff: (from: string, to: string) => call<ConfigChange[]>('GET', `/api/v1/config/diff?from=${from}&to=${to}`),
  profiles: () => call<ProfileList>('GET', '/api/v1/profiles'),
  useProfile: (profile: string) => call<ConfigApplied>('POST', '/api/v1/config/profile', { profile }),
  rollback: (to: string) => call<ConfigApplied>('POST', '/api/v1/config/rollback', { to }),
  setFault: (service: string, fault: Fault) => call<ConfigSummary>('PUT', `/api/v1/services/${service}/fault`, fault),
  clearFault: (service: string) => call<ConfigSummary>('DELETE', `/api/v1/services/${service}/fault`),
  drain: (instance: string) => call<DrainState>('POST', `/api/v1/proxies/${instance}/drain`),
  undrain: (instance: string) => call<DrainState>('DELETE', `/api/v1/proxies/${instance}/drain`),
};
