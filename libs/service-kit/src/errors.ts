// Error responses every MeshCart service shares: a stable code, a message, and where the problem is.
import type { FastifyError, FastifyInstance } from 'fastify';

export interface ErrorDetail {
  /** JSON pointer into the request part named by `in`, e.g. `/items/0/quantity`. */
  path: string;
  in?: 'body' | 'querystring' | 'params' | 'headers';
  message: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
}

/** An error with an HTTP status and a stable code that clients can switch on. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const badRequest = (code: string, message: string, details?: ErrorDetail[]) => new HttpError(400, code, message, details);
export const unauthorized = (message: string) => new HttpError(401, 'UNAUTHORIZED', message, undefined, { 'www-authenticate': 'Bearer' });
export const notFound = (code: string, message: string) => new HttpError(404, code, message);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);

type ValidationError = NonNullable<FastifyError['validation']>[number];

function describeValidation(e: ValidationError, part: ErrorDetail['in']): ErrorDetail {
  const params = e.params as Record<string, unknown>;
  let path = e.instancePath || '';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') path = `${path}/${String(params['missingProperty'])}`;
  if (e.keyword === 'additionalProperties') {
    path = `${path}/${String(params['additionalProperty'])}`;
    message = 'is not an allowed property';
  }
  if (e.keyword === 'enum') message = `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return { path: path || '/', in: part, message };
}

/** Maps Fastify's and our own errors to `{ error: { code, message, details } }`. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.headers) void reply.headers(err.headers);
      return reply.code(err.statusCode).send(err.toBody());
    }
    if (err.validation) {
      const part = (err.validationContext ?? 'body') as ErrorDetail['in'];
      const details = err.validation.map((v) => describeValidation(v, part));
      const message = details.map((d) => `${part}${d.path === '/' ? '' : d.path} ${d.message}`).join('; ');
      return reply.code(400).send({ error: { code: 'VALIDATION_FAILED', message, details } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send({ error: { code: 'INVALID_JSON', message: `request body is not valid JSON: ${err.message}` } });
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send({ error: { code: 'INVALID_JSON', message: 'request body is empty but content-type is application/json' } });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: err.code ?? 'BAD_REQUEST', message: err.message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: `no route for ${request.method} ${request.url}` } }),
  );
}
