// The /orders HTTP API: every route needs a user's bearer token, then asks the saga or the store.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  IDEMPOTENT_REPLAY_HEADER,
  ORDER_NOT_FOUND,
  Order,
  OrderList,
  OrderParams,
  PlaceOrderBody,
  PlaceOrderHeaders,
  PlaceOrderResponse,
} from '@meshcart/contracts';
import { notFound } from '@meshcart/service-kit';
import { toPublicOrder, type OrderStore } from './order-store';
import type { PlaceOrderSaga } from './place-order-saga';
import type { TokenVerifier } from './token-verifier';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token's subject; set by the auth hook on every /orders route. */
    userId: string;
  }
}

export interface OrderRoutesOptions {
  saga: PlaceOrderSaga;
  store: OrderStore;
  verifier: TokenVerifier;
}

const LIST_LIMIT = 100;

export const orderRoutes: FastifyPluginAsyncTypebox<OrderRoutesOptions> = async (app, { saga, store, verifier }) => {
  app.decorateRequest('userId', '');
  // onRequest runs before the body is read: a caller without a valid token learns nothing more.
  app.addHook('onRequest', async (request) => {
    request.userId = (await verifier.verify(request.headers.authorization)).userId;
  });

  app.post(
    '/orders',
    {
      schema: {
        body: PlaceOrderBody,
        headers: PlaceOrderHeaders,
        // Some statuses carry either a failed Order (the saga ran) or an error (it never started).
        response: {
          201: Order,
          400: ErrorResponse,
          401: PlaceOrderResponse,
          402: Order,
          409: PlaceOrderResponse,
          422: PlaceOrderResponse,
          503: PlaceOrderResponse,
        },
      },
    },
    async (request, reply) => {
      const result = await saga.place(
        {
          userId: request.userId,
          items: request.body.items,
          idempotencyKey: request.headers['idempotency-key'],
          authorization: request.headers.authorization,
        },
        request.log,
      );
      if (result.replayed) void reply.header(IDEMPOTENT_REPLAY_HEADER, 'true');
      return reply.code(result.statusCode).send(result.order);
    },
  );

  app.get('/orders/:id', { schema: { params: OrderParams, response: { 200: Order, 404: ErrorResponse } } }, async (request) => {
    // Someone else's order answers exactly like a missing one, so ids reveal nothing.
    const order = store.getForUser(request.params.id, request.userId);
    if (!order) throw notFound(ORDER_NOT_FOUND, `order ${request.params.id} not found`);
    return toPublicOrder(order);
  });

  app.get('/orders', { schema: { response: { 200: OrderList } } }, async (request) => ({
    items: store.listForUser(request.userId, LIST_LIMIT).map(toPublicOrder),
  }));
};
