import type { VirtualHostResource } from '@meshcart/mesh-config';
import { describe, expect, it } from 'vitest';
import { buildRouteTable } from './route-table';

const vhosts: VirtualHostResource[] = [
  {
    name: 'order-service',
    routes: [
      { name: 'place-order', match: { pathExact: '/orders', methods: ['POST'] }, cluster: 'order-service', timeoutMs: 10 },
      { name: 'orders', match: { pathPrefix: '/orders' }, cluster: 'order-service', timeoutMs: 20 },
      { name: 'default', match: { pathPrefix: '/' }, cluster: 'order-service', timeoutMs: 30 },
    ],
  },
  { name: 'product-service', routes: [{ name: 'api', match: { pathPrefix: '/api/products/' }, cluster: 'product-service', timeoutMs: 5 }] },
];

const cases: [string, string, string, string | undefined][] = [
  ['order-service', 'POST', '/orders', 'place-order'],
  ['order-service', 'GET', '/orders', 'orders'],
  ['order-service', 'POST', '/orders?x=1', 'place-order'],
  ['order-service', 'GET', '/orders/42', 'orders'],
  ['order-service', 'GET', '/ordersx', 'default'],
  ['order-service', 'DELETE', '/anything', 'default'],
  ['product-service', 'GET', '/api/products/7', 'api'],
  ['product-service', 'GET', '/api/products', undefined],
  ['product-service', 'GET', '/api/productsx/1', undefined],
  // Only the host differs from the case before: a lookup must not reuse the last one's answer.
  ['order-service', 'GET', '/charges', 'default'],
  ['payment-service', 'GET', '/charges', undefined],
];

describe.each(['compiled', 'linear-regex'] as const)('route table (%s)', (mode) => {
  const table = buildRouteTable(vhosts, mode);

  it.each(cases)('%s %s %s → %s', (host, method, path, expected) => {
    expect(table.match(host, method, path)?.name).toBe(expected);
    // Asked again (from the cache, where there is one): the same answer.
    expect(table.match(host, method, path)?.name).toBe(expected);
  });
});
