// product-service API: the catalog and inventory reservations held per order.
import { Type, type Static } from '@sinclair/typebox';
import { Cents, Id } from './common';

export const ProductSummary = Type.Object({ id: Id, name: Type.String(), priceCents: Cents, stock: Type.Integer() });
export type ProductSummary = Static<typeof ProductSummary>;

export const Product = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  category: Type.String(),
  priceCents: Cents,
  stock: Type.Integer(),
});
export type Product = Static<typeof Product>;

export const ProductListQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 100 })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);
export type ProductListQuery = Static<typeof ProductListQuery>;

export const ProductList = Type.Object({
  items: Type.Array(ProductSummary),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  total: Type.Integer(),
});
export type ProductList = Static<typeof ProductList>;

export const ProductIdParams = Type.Object({ id: Id });

export const LineItemInput = Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false });
export type LineItemInput = Static<typeof LineItemInput>;

export const ReserveBody = Type.Object(
  { orderId: Id, items: Type.Array(LineItemInput, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false },
);
export type ReserveBody = Static<typeof ReserveBody>;

export const ReservationState = Type.Union([Type.Literal('reserved'), Type.Literal('released'), Type.Literal('committed')]);
export const Reservation = Type.Object({
  orderId: Id,
  state: ReservationState,
  items: Type.Array(Type.Object({ productId: Id, quantity: Type.Integer(), priceCents: Cents })),
  totalCents: Cents,
});
export type Reservation = Static<typeof Reservation>;

export const OrderIdParams = Type.Object({ orderId: Id });

/** Error codes product-service answers reservations with. */
export const INSUFFICIENT_STOCK = 'INSUFFICIENT_STOCK';
export const UNKNOWN_PRODUCT = 'UNKNOWN_PRODUCT';
