// payment-service API: idempotent charges and refunds against the (simulated) processor.
import { Type, type Static } from '@sinclair/typebox';
import { Cents, Id } from './common';

export const ChargeBody = Type.Object(
  { orderId: Id, amountCents: Type.Integer({ minimum: 1, maximum: 100_000_000 }), currency: Type.Optional(Type.Literal('USD')) },
  { additionalProperties: false },
);
export type ChargeBody = Static<typeof ChargeBody>;

export const ChargeStatus = Type.Union([Type.Literal('succeeded'), Type.Literal('declined'), Type.Literal('refunded')]);
export const Charge = Type.Object({
  id: Id,
  orderId: Id,
  amountCents: Cents,
  currency: Type.String(),
  status: ChargeStatus,
  declineReason: Type.Optional(Type.String()),
  createdAt: Type.String(),
  refundedAt: Type.Optional(Type.String()),
});
export type Charge = Static<typeof Charge>;

export const ChargeIdParams = Type.Object({ id: Id });
export const ChargeListQuery = Type.Object({ orderId: Type.Optional(Id) }, { additionalProperties: false });
export const ChargeList = Type.Object({ items: Type.Array(Charge) });
export type ChargeList = Static<typeof ChargeList>;

/** Answer header on a replayed idempotent request. */
export const IDEMPOTENT_REPLAY_HEADER = 'idempotent-replayed';
