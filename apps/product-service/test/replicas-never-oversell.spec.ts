// Two real product-service processes on one database file, racing for the same units, never oversell.
import { makeTempDir, startServiceProcess, type StartedService } from '@meshcart/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ENTRY = 'apps/product-service/src/main.ts';
let dir: ReturnType<typeof makeTempDir>;
let replicas: StartedService[] = [];

beforeAll(async () => {
  dir = makeTempDir();
  // Started together, so both also race to migrate and seed the fresh file.
  replicas = await Promise.all([
    startServiceProcess('product-service-a', ENTRY, { DATA_DIR: dir.path }),
    startServiceProcess('product-service-b', ENTRY, { DATA_DIR: dir.path }),
  ]);
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  dir.remove();
});

it('sells each unit once when both replicas take orders at the same time', async () => {
  const [a, b] = replicas as [StartedService, StartedService];
  const product = (await (await fetch(`${a.url}/products/p-001`)).json()) as { stock: number };
  const attempts = product.stock + 15;

  const answers = await Promise.all(
    Array.from({ length: attempts }, (_, i) =>
      fetch(`${(i % 2 === 0 ? a : b).url}/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: `race-${i}`, items: [{ productId: 'p-001', quantity: 1 }] }),
      }).then((r) => r.status),
    ),
  );

  expect(answers.filter((s) => s === 201)).toHaveLength(product.stock);
  expect(answers.filter((s) => s === 409)).toHaveLength(15);
  for (const replica of replicas) {
    const after = (await (await fetch(`${replica.url}/products/p-001`)).json()) as { stock: number };
    expect(after.stock).toBe(0);
  }
  const catalog = (await (await fetch(`${b.url}/products?pageSize=100`)).json()) as { total: number };
  expect(catalog.total).toBe(72);
});
