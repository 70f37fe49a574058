// Browsing the catalog: the seeded sample, search, paging and single products.
import { makeTempDir } from '@meshcart/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';
import { sampleCatalog } from './sample-catalog';

describe('catalog', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false });
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const list = (query: string) => app.inject({ url: `/products${query}` });

  it('seeds the sample catalog: at least 60 products, 20 per page by default', async () => {
    const res = await list('');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.total).toBe(sampleCatalog().length);
    expect(body.total).toBeGreaterThanOrEqual(60);
    expect(body.page).toBe(1);
    expect(body.pageSize).toBe(20);
    expect(body.items).toHaveLength(20);
    expect(body.items[0]).toEqual({ id: 'p-001', name: 'Classic Kettle', priceCents: expect.any(Number), stock: expect.any(Number) });
  });

  it('pages through the catalog without overlap', async () => {
    const first = (await list('?page=1&pageSize=30')).json();
    const second = (await list('?page=2&pageSize=30')).json();
    expect(second.page).toBe(2);
    const ids = [...first.items, ...second.items].map((p: { id: string }) => p.id);
    expect(new Set(ids).size).toBe(60);
    expect(ids[30]).toBe('p-031');
  });

  it('answers an empty page past the end, still with the total', async () => {
    const body = (await list('?page=50')).json();
    expect(body.items).toEqual([]);
    expect(body.total).toBe(sampleCatalog().length);
  });

  it('searches name, description and category case-insensitively', async () => {
    const byName = (await list('?search=KETTLE&pageSize=100')).json();
    expect(byName.items.map((p: { name: string }) => p.name).sort()).toEqual([
      'Classic Kettle',
      'Classic Kettlebell',
      'Compact Kettle',
      'Compact Kettlebell',
      'Deluxe Kettle',
      'Deluxe Kettlebell',
    ]);
    expect(byName.total).toBe(6);
    const byCategory = (await list('?search=outdoor&pageSize=100')).json();
    expect(byCategory.total).toBe(12);
    const byDescription = (await list('?search=space-saving&pageSize=100')).json();
    expect(byDescription.total).toBe(24);
    expect(byDescription.items.every((p: { name: string }) => p.name.startsWith('Compact'))).toBe(true);
  });

  it('treats search text literally, not as a pattern', async () => {
    expect((await list('?search=%25')).json().total).toBe(0);
    expect((await list('?search=_')).json().total).toBe(0);
  });

  it('rejects a page size over 100, naming it', async () => {
    const res = await list('?pageSize=101');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/pageSize', in: 'querystring' }));
  });

  it('rejects a page that is not a number, naming it', async () => {
    const res = await list('?page=abc');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('querystring/page');
  });

  it('rejects unknown query parameters', async () => {
    const res = await list('?sort=price');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/sort' }));
  });

  it('returns one product with its description and category', async () => {
    const res = await app.inject({ url: '/products/p-002' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(sampleCatalog()[1]);
  });

  it('answers 404 PRODUCT_NOT_FOUND for an unknown product', async () => {
    const res = await app.inject({ url: '/products/p-999' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('PRODUCT_NOT_FOUND');
  });

  it('answers 400 for a malformed product id', async () => {
    const res = await app.inject({ url: '/products/p%20001' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/id', in: 'params' }));
  });

  it('keeps stock changes across a restart instead of re-seeding', async () => {
    await app.inject({ method: 'POST', url: '/reservations', payload: { orderId: 'o-1', items: [{ productId: 'p-001', quantity: 3 }] } });
    await app.close();
    app = await buildApp({ dataDir: dir.path, logger: false });
    const res = await app.inject({ url: '/products/p-001' });
    expect(res.json().stock).toBe(sampleCatalog()[0]!.stock - 3);
  });

  it('starts empty when seeding is off', async () => {
    const empty = makeTempDir();
    const bare = await buildApp({ dataDir: empty.path, logger: false, seed: false });
    try {
      expect((await bare.inject({ url: '/products' })).json()).toEqual({ items: [], page: 1, pageSize: 20, total: 0 });
    } finally {
      await bare.close();
      empty.remove();
    }
  });

  it('says which version answered (x-product-version): v1 unless the instance is labelled otherwise', async () => {
    expect((await list('')).headers['x-product-version']).toBe('v1');
    const canary = await buildApp({ dataDir: dir.path, logger: false, version: 'v2' });
    try {
      const res = await canary.inject({ url: '/products/p-001' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-product-version']).toBe('v2');
    } finally {
      await canary.close();
    }
  });
});

describe('sampleCatalog', () => {
  it('is the same every time, with unique ids and stock from 20 to 200', () => {
    const a = sampleCatalog();
    expect(sampleCatalog()).toEqual(a);
    expect(new Set(a.map((p) => p.id)).size).toBe(a.length);
    expect(a.every((p) => p.stock >= 20 && p.stock <= 200 && p.priceCents > 0)).toBe(true);
    expect(new Set(a.map((p) => p.stock)).size).toBeGreaterThan(20);
  });
});
