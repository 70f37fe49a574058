import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { serverNameOf } from './endpoint';

// undici's own derivation (what it does when given no server name), to compare with.
const { getServerName } = createRequire(import.meta.url)('undici/lib/core/util.js') as { getServerName: (host: string) => string | null };

describe('the TLS server name passed to undici', () => {
  it('is the one undici would derive from the Host header: the host without its port, none for an IP address', () => {
    const hosts = [
      'payment-service',
      'payment-service:8443',
      'bench-upstream',
      '127.0.0.1',
      '127.0.0.1:80',
      '[::1]',
      '[::1]:443',
      'example.com:',
      ':80',
    ];
    for (const host of hosts) expect(serverNameOf(host) ?? null, host).toBe(getServerName(host) || null);
  });

  it('is left to undici for a bracketed host, which undici refuses when the bracket is not closed', () => {
    expect(serverNameOf('[::1')).toBeUndefined();
    expect(() => getServerName('[::1')).toThrow();
  });
});
