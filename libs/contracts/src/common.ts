// Schemas shared by every service API: errors, ids, money.
import { Type, type Static } from '@sinclair/typebox';

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), in: Type.Optional(Type.String()), message: Type.String() }))),
  }),
});
export type ErrorResponse = Static<typeof ErrorResponse>;

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const Cents = Type.Integer({ minimum: 0, maximum: 100_000_000 });
/** Header that makes a POST safe to retry: the same key gives the same result, once. */
export const IdempotencyKey = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' });
