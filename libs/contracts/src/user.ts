// user-service API: accounts, sessions (JWT) and the key set other services verify tokens with.
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './common';

export const RegisterUserBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 8, maxLength: 128 }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);
export type RegisterUserBody = Static<typeof RegisterUserBody>;

export const User = Type.Object({ id: Id, email: Type.String(), name: Type.String(), createdAt: Type.String() });
export type User = Static<typeof User>;

export const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Session = Type.Object({ token: Type.String(), tokenType: Type.Literal('Bearer'), expiresIn: Type.Integer() });
export type Session = Static<typeof Session>;

export const UserIdParams = Type.Object({ id: Id });

/** One public ES256 signing key in JWK form, as published at JWKS_PATH. */
export const PublicJwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  y: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
});
export type PublicJwk = Static<typeof PublicJwk>;

export const Jwks = Type.Object({ keys: Type.Array(PublicJwk) });
export type Jwks = Static<typeof Jwks>;

/** Issuer and audience of MeshCart access tokens. */
export const TOKEN_ISSUER = 'user-service';
export const TOKEN_AUDIENCE = 'meshcart';
export const JWKS_PATH = '/.well-known/jwks.json';
