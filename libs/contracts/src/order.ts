// order-service API: orders placed as a saga over user, product and payment.
import { Type, type Static } from '@sinclair/typebox';
import { Cents, ErrorResponse, Id, IdempotencyKey } from './common';
import { LineItemInput } from './product';

export const PlaceOrderBody = Type.Object({ items: Type.Array(LineItemInput, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false });
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const OrderStatus = Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('failed')]);
export type OrderStatus = Static<typeof OrderStatus>;

/** Why an order failed; each has its own HTTP status on POST /orders. */
export const OrderFailureReason = Type.Union([
  Type.Literal('user_not_found'), // 401
  Type.Literal('unknown_product'), // 422
  Type.Literal('insufficient_stock'), // 409
  Type.Literal('payment_declined'), // 402
  Type.Literal('dependency_unavailable'), // 503
  Type.Literal('interrupted'), // found pending after a restart and compensated
]);
export type OrderFailureReason = Static<typeof OrderFailureReason>;

export const Order = Type.Object({
  id: Id,
  userId: Id,
  status: OrderStatus,
  reason: Type.Optional(OrderFailureReason),
  detail: Type.Optional(Type.String()),
  items: Type.Array(Type.Object({ productId: Id, quantity: Type.Integer(), priceCents: Type.Optional(Cents) })),
  totalCents: Cents,
  chargeId: Type.Optional(Id),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type Order = Static<typeof Order>;

export const OrderList = Type.Object({ items: Type.Array(Order) });
export type OrderList = Static<typeof OrderList>;
export const OrderParams = Type.Object({ id: Id });

/** Headers of POST /orders: a retried request with the same key places the order once. */
export const PlaceOrderHeaders = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) });
export type PlaceOrderHeaders = Static<typeof PlaceOrderHeaders>;

/**
 * What POST /orders answers: the Order for every outcome of the saga (201 confirmed, or a failed
 * order with the status below), the error envelope for requests that never became an order.
 */
export const PlaceOrderResponse = Type.Union([Order, ErrorResponse]);

/** HTTP status of POST /orders for each failure reason. */
export const ORDER_FAILURE_STATUS = {
  user_not_found: 401,
  unknown_product: 422,
  insufficient_stock: 409,
  payment_declined: 402,
  dependency_unavailable: 503,
  interrupted: 503,
} as const satisfies Record<OrderFailureReason, number>;

/** Error codes order-service answers with (in the error envelope). */
export const ORDER_NOT_FOUND = 'ORDER_NOT_FOUND';
export const ORDER_IN_PROGRESS = 'ORDER_IN_PROGRESS';
export const IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
