// The bootstrap token check: workloads asking for a certificate and peer replicas present the mesh's token.
import { unauthorized } from '@meshcart/service-kit';
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';

/** A route hook that refuses (401, with `message`) a caller without the token. */
export function requireBootstrapToken(token: string, message: string) {
  const expected = Buffer.from(token);
  return async (req: FastifyRequest): Promise<void> => {
    const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized(message);
  };
}
