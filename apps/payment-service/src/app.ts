// payment-service: idempotent charges and refunds against the simulated card processor.
import {
  Charge,
  ChargeBody,
  ChargeIdParams,
  ChargeList,
  ChargeListQuery,
  ErrorResponse,
  IDEMPOTENT_REPLAY_HEADER,
  IdempotencyKey,
} from '@meshcart/contracts';
import { HttpError, badRequest, conflict, createServiceApp, notFound, openDatabase, type ServiceAppOptions } from '@meshcart/service-kit';
import { Type } from '@sinclair/typebox';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ChargeStore, chargeMigrations, toCharge, type ChargeRow } from './charge-store';
import { SimulatedProcessor, type ProcessorOptions } from './simulated-processor';

export interface PaymentServiceOptions {
  /** Folder holding `payment-service.db`. */
  dataDir: string;
  logger?: ServiceAppOptions['logger'];
  processor: ProcessorOptions;
}

const SERVICE_NAME = 'payment-service';
const DEFAULT_CURRENCY = 'USD';
/** GET /charges without an orderId lists this many of the newest charges. */
const RECENT_LIMIT = 100;
/**
 * A 'processing' row older than this cannot belong to a live request: the processor answers within
 * PAYMENT_LATENCY_MS (at most a minute), so its process must have died mid-charge.
 */
const INTERRUPTED_AFTER_MS = 60_000;

// Optional in the schema so that a missing key gets its own code rather than a generic VALIDATION_FAILED.
const ChargeHeaders = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) });

const chargeInProgress = (what: string) =>
  new HttpError(409, 'CHARGE_IN_PROGRESS', `${what} is still at the processor; retry shortly`, undefined, { 'retry-after': '1' });

/** Declines answer 402 every time, the first and on replay, so a retry sees what the first call saw. */
const statusFor = (row: ChargeRow) => (row.status === 'declined' ? 402 : 201);

const requestHash = (orderId: string, amountCents: number, currency: string) =>
  createHash('sha256')
    .update(JSON.stringify([orderId, amountCents, currency]))
    .digest('base64url');

export async function buildApp(opts: PaymentServiceOptions) {
  const app = createServiceApp({ name: SERVICE_NAME, logger: opts.logger });
  const store = new ChargeStore(openDatabase(join(opts.dataDir, `${SERVICE_NAME}.db`), chargeMigrations));
  app.addHook('onClose', async () => store.close());
  const processor = new SimulatedProcessor(opts.processor);

  // A charge left 'processing' by a crashed process would hold its idempotency key forever, and every
  // retry would get 409. The simulated processor's state died with that process, so no money moved:
  // resolve it as declined, and the caller's retry replays a clear 402 instead of hanging.
  const interrupted = store.interruptStale(new Date(Date.now() - INTERRUPTED_AFTER_MS));
  if (interrupted > 0) app.log.warn({ interrupted }, 'marked charges interrupted by a previous crash as declined');

  app.addReadinessCheck('db', () => store.isHealthy());

  app.post(
    '/charges',
    {
      schema: {
        headers: ChargeHeaders,
        body: ChargeBody,
        response: { 201: Charge, 402: Charge, 400: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse },
      },
    },
    async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      if (!idempotencyKey) {
        throw badRequest('IDEMPOTENCY_KEY_REQUIRED', 'an Idempotency-Key header is required so that a retried charge is never charged twice');
      }
      const { orderId, amountCents, currency = DEFAULT_CURRENCY } = request.body;
      const outcome = store.begin({ idempotencyKey, orderId, amountCents, currency, requestHash: requestHash(orderId, amountCents, currency) });
      switch (outcome.kind) {
        case 'key-reused':
          throw new HttpError(422, 'IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${idempotencyKey} was already used for a different charge request`);
        case 'in-progress':
          throw chargeInProgress(`a charge with Idempotency-Key ${idempotencyKey}`);
        case 'finished':
          return reply.code(statusFor(outcome.charge)).header(IDEMPOTENT_REPLAY_HEADER, 'true').send(toCharge(outcome.charge));
        case 'started': {
          // The key is claimed and the transaction is over: the slow processor call holds no lock.
          const verdict = await processor.charge();
          const row = verdict.approved
            ? store.finish(outcome.charge.id, 'succeeded', null)
            : store.finish(outcome.charge.id, 'declined', verdict.reason);
          return reply.code(statusFor(row)).send(toCharge(row));
        }
      }
    },
  );

  app.post(
    '/charges/:id/refund',
    { schema: { params: ChargeIdParams, response: { 200: Charge, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => {
      const { id } = request.params;
      const row = store.findById(id);
      if (!row) throw notFound('CHARGE_NOT_FOUND', `charge ${id} does not exist`);
      if (row.status === 'processing') throw chargeInProgress(`charge ${id}`);
      if (row.status === 'declined') throw conflict('CHARGE_NOT_REFUNDABLE', `charge ${id} was declined; there is nothing to refund`);
      // Claimed in the database before the processor call, so concurrent refunds reach the processor once.
      const { row: refunded, claimed } = store.markRefunded(id);
      if (claimed) await processor.refund();
      return toCharge(refunded);
    },
  );

  app.get(
    '/charges/:id',
    { schema: { params: ChargeIdParams, response: { 200: Charge, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } } },
    async (request) => {
      const row = store.findById(request.params.id);
      if (!row) throw notFound('CHARGE_NOT_FOUND', `charge ${request.params.id} does not exist`);
      if (row.status === 'processing') throw chargeInProgress(`charge ${row.id}`);
      return toCharge(row);
    },
  );

  app.get('/charges', { schema: { querystring: ChargeListQuery, response: { 200: ChargeList, 400: ErrorResponse } } }, async (request) => {
    const { orderId } = request.query;
    const rows = orderId ? store.listByOrder(orderId) : store.listRecent(RECENT_LIMIT);
    return { items: rows.map(toCharge) };
  });

  return app;
}
