// A cluster's service-account issuer on loopback, and tokens shaped as the API server projects them into pods.
import { exportJWK, SignJWT, type generateKeyPair, type JWK } from 'jose';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** A cluster's service-account issuer as the API server serves it: the discovery document and the JWKS. */
export interface Issuer {
  /** The issuer URL (`iss`), here the server's own base URL, as kubeadm's default is the API server's. */
  issuer: string;
  jwks: JWK[];
  requests: { path: string; authorization: string | undefined }[];
  /** When set, the endpoints answer 403 to any other caller (a default cluster answers anonymous callers so). */
  requiredBearer?: string;
  close(): Promise<void>;
}

export async function startIssuer(tls?: { key: string; cert: string }): Promise<Issuer> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    issuer.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (issuer.requiredBearer && req.headers.authorization !== `Bearer ${issuer.requiredBearer}`) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 }));
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(
        JSON.stringify({
          issuer: issuer.issuer,
          jwks_uri: `${issuer.issuer}/openid/v1/jwks`,
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else if (req.url === '/openid/v1/jwks') {
      res.end(JSON.stringify({ keys: issuer.jwks }));
    } else {
      res.writeHead(404).end();
    }
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer: Issuer = {
    issuer: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    jwks: [],
    requests: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return issuer;
}

export async function publicJwk(pair: KeyPair, kid: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
}

export const nowSec = () => Math.floor(Date.now() / 1000);

/** A token shaped as the API server projects one into a pod (serviceAccountToken volume, 600 s). */
export function claimsFor(issuer: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSec();
  return {
    aud: ['meshcart'],
    exp: iat + 600,
    iat,
    iss: issuer,
    nbf: iat,
    sub: 'system:serviceaccount:meshcart:payment-service',
    'kubernetes.io': {
      namespace: 'meshcart',
      node: { name: 'node-a', uid: '5b1c7a0e-0000-4000-8000-000000000001' },
      pod: { name: 'payment-service-7d9c5b-x2x4q', uid: '0f4e8c1a-0000-4000-8000-000000000002' },
      serviceaccount: { name: 'payment-service', uid: '9a3d2b7c-0000-4000-8000-000000000003' },
    },
    ...over,
  };
}

export function sign(claims: Record<string, unknown>, pair: KeyPair, kid: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(pair.privateKey);
}
