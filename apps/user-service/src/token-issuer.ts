// Signs and verifies MeshCart access tokens (ES256 JWTs) with the service's one persisted key.
import { TOKEN_AUDIENCE, TOKEN_ISSUER, type Jwks, type PublicJwk } from '@meshcart/contracts';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import type { UserStore } from './user-store';

const ALG = 'ES256';

export interface TokenSubject {
  id: string;
  email: string;
  name: string;
}

export class TokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly publicJwk: PublicJwk,
    readonly ttlSeconds: number,
  ) {}

  /**
   * Reuses the stored key so tokens issued before a restart stay valid and the published JWKS
   * does not change under the services that cached it; generates one only on the very first start.
   */
  static async load(store: UserStore, ttlSeconds: number): Promise<TokenIssuer> {
    let row = store.activeSigningKey();
    if (!row) {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      const jwk = await exportJWK(privateKey);
      const kid = await calculateJwkThumbprint(jwk);
      row = store.saveFirstSigningKey({ kid, private_jwk: JSON.stringify(jwk), created_at: new Date().toISOString() });
    }
    const privateJwk = JSON.parse(row.private_jwk) as JWK;
    const { kty, crv, x, y } = privateJwk;
    if (kty !== 'EC' || !crv || !x || !y) throw new Error(`signing key ${row.kid} is not an EC key`);
    const publicJwk: PublicJwk = { kty, crv, x, y, kid: row.kid, alg: ALG, use: 'sig' };
    const privateKey = (await importJWK(privateJwk, ALG)) as CryptoKey;
    const publicKey = (await importJWK({ kty, crv, x, y }, ALG)) as CryptoKey;
    return new TokenIssuer(privateKey, publicKey, publicJwk, ttlSeconds);
  }

  get kid(): string {
    return this.publicJwk.kid;
  }

  issue(user: TokenSubject): Promise<string> {
    return new SignJWT({ email: user.email, name: user.name })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.privateKey);
  }

  /** The token's subject (user id); rejects a bad signature, wrong issuer/audience or an expired token. */
  async verify(token: string): Promise<string> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      algorithms: [ALG],
      requiredClaims: ['sub', 'exp'],
    });
    return payload.sub!;
  }

  jwks(): Jwks {
    return { keys: [this.publicJwk] };
  }
}
