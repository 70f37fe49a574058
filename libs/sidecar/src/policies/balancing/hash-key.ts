// CONSISTENT_HASH's key for a request: a header's value, or a cookie's.
import type { HashOn } from '@meshcart/mesh-config';
import type { Headers } from '../../core/types';

export function hashKey(on: HashOn | undefined, headers: Headers): string | undefined {
  if (!on) return undefined;
  if ('header' in on) {
    const v = headers[on.header];
    return Array.isArray(v) ? v[0] : v;
  }
  const cookies = headers['cookie'];
  const line = Array.isArray(cookies) ? cookies.join('; ') : (cookies ?? '');
  for (const part of line.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === on.cookie) return value.join('=');
  }
  return undefined;
}
