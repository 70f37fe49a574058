// product-service: the catalog, and stock reservations that order-service holds, commits or releases per order.
import {
  ErrorResponse,
  INSUFFICIENT_STOCK,
  OrderIdParams,
  Product,
  ProductIdParams,
  ProductList,
  ProductListQuery,
  Reservation,
  ReserveBody,
  UNKNOWN_PRODUCT,
} from '@meshcart/contracts';
import { HttpError, conflict, createServiceApp, notFound, openDatabase, type ServiceAppOptions } from '@meshcart/service-kit';
import { join } from 'node:path';
import { ProductStore, productMigrations, type TransitionOutcome } from './product-store';
import { sampleCatalog } from './sample-catalog';

export interface ProductServiceOptions {
  /** Folder holding `product-service.db`; replicas may share it. */
  dataDir: string;
  logger?: ServiceAppOptions['logger'];
  /** Insert the sample catalog if missing (default true). */
  seed?: boolean;
  /**
   * This instance's version (its `version` label, MESH_LABELS): every answer says it in
   * `x-product-version`, so a canary split (v1 → v2) can be watched from the outside.
   */
  version?: string;
}

const SERVICE_NAME = 'product-service';
const DEFAULT_PAGE_SIZE = 20;

const reservationNotFound = (orderId: string) => notFound('RESERVATION_NOT_FOUND', `no reservation for order ${orderId}`);

export async function buildApp(opts: ProductServiceOptions) {
  const app = createServiceApp({ name: SERVICE_NAME, logger: opts.logger });
  const store = new ProductStore(openDatabase(join(opts.dataDir, `${SERVICE_NAME}.db`), productMigrations));
  app.addHook('onClose', async () => store.close());
  if (opts.seed ?? true) {
    const inserted = store.seed(sampleCatalog());
    if (inserted > 0) app.log.info({ inserted }, 'seeded sample catalog');
  }

  app.addReadinessCheck('db', () => store.isHealthy());
  const version = opts.version || 'v1';
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-product-version', version);
  });

  app.get('/products', { schema: { querystring: ProductListQuery, response: { 200: ProductList, 400: ErrorResponse } } }, async (request) => {
    const { search = '', page = 1, pageSize = DEFAULT_PAGE_SIZE } = request.query;
    return { ...store.list(search, page, pageSize), page, pageSize };
  });

  app.get(
    '/products/:id',
    { schema: { params: ProductIdParams, response: { 200: Product, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const product = store.findProduct(request.params.id);
      if (!product) throw notFound('PRODUCT_NOT_FOUND', `product ${request.params.id} does not exist`);
      return product;
    },
  );

  app.post(
    '/reservations',
    {
      schema: {
        body: ReserveBody,
        response: { 200: Reservation, 201: Reservation, 400: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (request, reply) => {
      const outcome = store.reserve(request.body.orderId, request.body.items);
      switch (outcome.kind) {
        case 'created':
          return reply.code(201).send(outcome.reservation);
        case 'existing':
          return reply.code(200).send(outcome.reservation);
        case 'unknown-products':
          throw new HttpError(
            422,
            UNKNOWN_PRODUCT,
            `unknown product ${outcome.products.map((p) => p.productId).join(', ')}`,
            outcome.products.map((p) => ({ path: `/items/${p.index}/productId`, in: 'body', message: `product ${p.productId} does not exist` })),
          );
        case 'insufficient-stock':
          throw new HttpError(
            409,
            INSUFFICIENT_STOCK,
            outcome.shortages.map((s) => `insufficient stock for ${s.productId}: requested ${s.requested}, available ${s.available}`).join('; '),
            outcome.shortages.map((s) => ({
              path: `/items/${s.index}/quantity`,
              in: 'body',
              message: `requested ${s.requested}, available ${s.available}`,
            })),
          );
      }
    },
  );

  const transitionSchema = { params: OrderIdParams, response: { 200: Reservation, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } };
  const answer = (orderId: string, outcome: TransitionOutcome, wrongState: (r: Reservation) => HttpError) => {
    if (outcome.kind === 'not-found') throw reservationNotFound(orderId);
    if (outcome.kind === 'wrong-state') throw wrongState(outcome.reservation);
    return outcome.reservation;
  };

  app.post('/reservations/:orderId/release', { schema: transitionSchema }, async (request) => {
    const { orderId } = request.params;
    return answer(orderId, store.release(orderId), () =>
      conflict('RESERVATION_COMMITTED', `reservation for order ${orderId} is committed; its stock cannot be released`),
    );
  });

  app.post('/reservations/:orderId/commit', { schema: transitionSchema }, async (request) => {
    const { orderId } = request.params;
    return answer(orderId, store.commit(orderId), () =>
      conflict('RESERVATION_RELEASED', `reservation for order ${orderId} was released; reserve again instead`),
    );
  });

  app.get(
    '/reservations/:orderId',
    { schema: { params: OrderIdParams, response: { 200: Reservation, 400: ErrorResponse, 404: ErrorResponse } } },
    async (request) => {
      const reservation = store.findReservation(request.params.orderId);
      if (!reservation) throw reservationNotFound(request.params.orderId);
      return reservation;
    },
  );

  return app;
}
