// Places an order as a saga over user, product and payment, and undoes what was done when a step fails.
import {
  IDEMPOTENCY_KEY_REUSED,
  ORDER_FAILURE_STATUS,
  ORDER_IN_PROGRESS,
  type Charge,
  type ChargeList,
  type LineItemInput,
  type Order,
  type OrderFailureReason,
  type Reservation,
} from '@meshcart/contracts';
import { HttpError, MeshCallError, type MeshCall, type MeshClient, type MeshReply } from '@meshcart/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { toPublicOrder, type OrderStore, type SagaStep, type StoredOrder } from './order-store';

export type SagaLogger = Pick<FastifyBaseLogger, 'debug' | 'info' | 'warn' | 'error'>;

export interface PlaceOrderSagaOptions {
  store: OrderStore;
  mesh: MeshClient;
  /** How long one call to another service may take before the step counts as unanswered. */
  stepTimeoutMs?: number;
  /** Pauses between attempts of a compensation call; its length + 1 is the number of attempts. */
  compensationBackoffMs?: readonly number[];
}

export interface PlaceOrderInput {
  userId: string;
  items: LineItemInput[];
  /** Absent: a fresh key is generated, i.e. the request is not deduplicated. */
  idempotencyKey?: string;
  /** The caller's Authorization header, passed on to user-service when checking the user. */
  authorization?: string;
}

/** Every status a placed (or replayed) order is answered with. */
export type PlaceOrderStatus = 201 | (typeof ORDER_FAILURE_STATUS)[OrderFailureReason];

export interface PlaceOrderResult {
  statusCode: PlaceOrderStatus;
  order: Order;
  replayed: boolean;
}

export interface RecoveryReport {
  /** Pending orders found stale and marked failed 'interrupted'. */
  interrupted: string[];
  /** Pending orders found stale whose reservation had already been committed: confirmed instead. */
  confirmed: string[];
  /** Failed orders whose earlier compensation had not got through and now has. */
  compensated: string[];
  /** Orders whose compensation still could not be completed; the next sweep tries again. */
  compensationIncomplete: string[];
}

export const USER_SERVICE = 'user-service';
export const PRODUCT_SERVICE = 'product-service';
export const PAYMENT_SERVICE = 'payment-service';

/** A step ended the saga; `hadNoEffect` when the other service certainly did nothing (it said no). */
class StepFailed extends Error {
  readonly httpStatus: PlaceOrderStatus;
  constructor(
    readonly reason: OrderFailureReason,
    readonly detail: string,
    readonly hadNoEffect: boolean,
  ) {
    super(detail);
    this.name = 'StepFailed';
    this.httpStatus = ORDER_FAILURE_STATUS[reason];
  }
}

interface CompensationPlan {
  release: boolean;
  /** 'lookup': a charge may exist but its id is unknown (the charge call got no answer). */
  refund: 'none' | 'lookup' | { chargeId: string };
  /** With 'lookup': finding no charge leaves the compensation pending instead of complete. */
  lookAgainIfNoCharge?: boolean;
}

/** 'committed': the reservation could not be released because the order had in fact completed. */
type CompensationOutcome = 'compensated' | 'incomplete' | 'committed';
type CallOutcome = 'done' | 'committed' | 'failed';

const STEPS: readonly SagaStep[] = ['verifying_user', 'reserving', 'charging', 'committing', 'done'];

/** What may exist elsewhere for an order that reached `order.step`, and so what must be undone. */
function compensationPlan(order: StoredOrder, lastStepHadNoEffect: boolean): CompensationPlan {
  const reached = STEPS.indexOf(order.step) - (lastStepHadNoEffect ? 1 : 0);
  const refund: CompensationPlan['refund'] = order.chargeId ? { chargeId: order.chargeId } : reached >= STEPS.indexOf('charging') ? 'lookup' : 'none';
  return { release: reached >= STEPS.indexOf('reserving'), refund };
}

/** The body's identity for Idempotency-Key reuse: same items in the same order. */
export function hashOrderRequest(items: readonly LineItemInput[]): string {
  return createHash('sha256')
    .update(JSON.stringify(items.map((i) => [i.productId, i.quantity])))
    .digest('base64url');
}

/** product-service's answer to releasing a committed reservation (its code is not in the contracts). */
const RESERVATION_COMMITTED = 'RESERVATION_COMMITTED';

function codeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** ' CODE' for log and detail text, or nothing. */
function errorCode(body: unknown): string {
  const code = codeOf(body);
  return code ? ` ${code}` : '';
}

function errorMessage(body: unknown, fallback: string): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? message : fallback;
}

export class PlaceOrderSaga {
  private readonly store: OrderStore;
  private readonly mesh: MeshClient;
  private readonly stepTimeoutMs: number;
  private readonly compensationBackoffMs: readonly number[];
  /** Sagas running in this process: recovery must not compensate an order that is still moving. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private recovering: Promise<RecoveryReport> | undefined;

  constructor(options: PlaceOrderSagaOptions) {
    this.store = options.store;
    this.mesh = options.mesh;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
    this.compensationBackoffMs = options.compensationBackoffMs ?? [100, 300];
  }

  /**
   * Runs the saga for a new request, or answers a repeated one from the store. Throws HttpError
   * 409 ORDER_IN_PROGRESS / 422 IDEMPOTENCY_KEY_REUSED for keys that cannot be replayed.
   */
  async place(input: PlaceOrderInput, log: SagaLogger): Promise<PlaceOrderResult> {
    const requestHash = hashOrderRequest(input.items);
    const created = this.store.create({
      id: `ord_${randomUUID().replaceAll('-', '')}`,
      userId: input.userId,
      idempotencyKey: input.idempotencyKey ?? `auto:${randomUUID()}`,
      requestHash,
      items: input.items.map(({ productId, quantity }) => ({ productId, quantity })),
    });
    if (!created.created) return this.replay(created.existing, requestHash, log);

    const orderId = created.order.id;
    log.debug({ orderId, step: 'created' }, 'order saga: pending order stored');
    const running = this.run(created.order, input.authorization, log);
    this.inFlight.set(orderId, running);
    try {
      return await running;
    } finally {
      this.inFlight.delete(orderId);
    }
  }

  /**
   * Orders left 'pending' by a process that stopped mid-saga would hold stock (and maybe money)
   * forever: nothing else will ever move them. After `olderThanMs` without progress, and when no
   * saga in this process owns them, undo every effect they may have had and mark them
   * 'interrupted'. The age guard keeps a sweep from racing a saga that another replica sharing
   * the database is still running. Also retries compensations that earlier did not get through.
   */
  recoverPendingOrders(olderThanMs: number, log: SagaLogger): Promise<RecoveryReport> {
    this.recovering ??= this.recover(olderThanMs, log).finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  /** Resolves once every saga and sweep running now has finished; called before the store closes. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values(), this.recovering]);
  }

  private replay(existing: StoredOrder, requestHash: string, log: SagaLogger): PlaceOrderResult {
    if (existing.requestHash !== requestHash) {
      throw new HttpError(422, IDEMPOTENCY_KEY_REUSED, 'this Idempotency-Key was already used for a different order body');
    }
    if (existing.status === 'pending' || existing.httpStatus === null) {
      throw new HttpError(409, ORDER_IN_PROGRESS, `order ${existing.id} for this Idempotency-Key is still being placed`, undefined, {
        'retry-after': '1',
      });
    }
    log.debug({ orderId: existing.id }, 'order saga: replaying stored result');
    // Only this class writes http_status, always with a PlaceOrderStatus.
    return { statusCode: existing.httpStatus as PlaceOrderStatus, order: toPublicOrder(existing), replayed: true };
  }

  /**
   * An exception other than StepFailed (a bug, a broken disk) escapes on purpose: the order stays
   * 'pending' and the recovery sweep compensates it, exactly as if the process had died there.
   */
  private async run(order: StoredOrder, authorization: string | undefined, log: SagaLogger): Promise<PlaceOrderResult> {
    const orderId = order.id;
    try {
      await this.verifyUser(order, authorization, log);

      this.advance(orderId, 'reserving', log);
      const reservation = await this.reserve(order);
      this.store.recordReservation(
        orderId,
        reservation.items.map(({ productId, quantity, priceCents }) => ({ productId, quantity, priceCents })),
        reservation.totalCents,
      );

      // Nothing to charge for a free order; payment-service rejects a zero amount.
      if (reservation.totalCents > 0) {
        this.advance(orderId, 'charging', log);
        const charge = await this.charge(orderId, reservation.totalCents);
        this.store.recordCharge(orderId, charge.id);
      }

      this.advance(orderId, 'committing', log);
      await this.commit(orderId);
      const confirmed = this.store.confirm(orderId);
      log.debug({ orderId, step: 'done' }, 'order saga: confirmed');
      return { statusCode: 201, order: toPublicOrder(confirmed), replayed: false };
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      const reached = this.store.get(orderId) ?? order;
      log.info({ orderId, step: reached.step, reason: err.reason, detail: err.detail }, 'order saga: step failed, compensating');
      const plan = compensationPlan(reached, err.hadNoEffect);
      // The charge's answer was lost: payment-service lists a charge only once the processor has
      // finished it, so finding none now proves little. Leave it to the sweep to look once more.
      if (plan.refund === 'lookup' && reached.step === 'charging') plan.lookAgainIfNoCharge = true;
      const outcome = await this.compensate(reached, plan, log);
      if (outcome === 'committed') {
        // The commit went through and only its answer was lost: the order is complete, not failed.
        log.info({ orderId }, 'order saga: reservation turned out committed, confirming');
        return { statusCode: 201, order: toPublicOrder(this.store.confirm(orderId)), replayed: false };
      }
      const failed = this.store.fail(orderId, {
        reason: err.reason,
        detail: err.detail,
        httpStatus: err.httpStatus,
        compensationPending: outcome === 'incomplete',
      });
      return { statusCode: err.httpStatus, order: toPublicOrder(failed), replayed: false };
    }
  }

  private advance(orderId: string, step: SagaStep, log: SagaLogger): void {
    // Written before the call: if the process dies during it, recovery knows what may exist.
    this.store.setStep(orderId, step);
    log.debug({ orderId, step }, 'order saga: step started');
  }

  private async verifyUser(order: StoredOrder, authorization: string | undefined, log: SagaLogger): Promise<void> {
    log.debug({ orderId: order.id, step: 'verifying_user' }, 'order saga: step started');
    const reply = await this.step(USER_SERVICE, {
      path: `/users/${encodeURIComponent(order.userId)}`,
      ...(authorization ? { headers: { authorization } } : {}),
    });
    if (reply.statusCode === 200) return;
    if (reply.statusCode === 404) throw new StepFailed('user_not_found', `user ${order.userId} does not exist`, true);
    throw unexpected(USER_SERVICE, 'the user lookup', reply);
  }

  private async reserve(order: StoredOrder): Promise<Reservation> {
    const reply = await this.step<Reservation>(PRODUCT_SERVICE, {
      method: 'POST',
      path: '/reservations',
      // product-service keeps one reservation per order id, so repeating this call is safe: the key
      // lets the mesh retry it when a replica dies mid-request.
      headers: { 'idempotency-key': `reserve-${order.id}` },
      body: { orderId: order.id, items: order.items.map(({ productId, quantity }) => ({ productId, quantity })) },
    });
    if ((reply.statusCode === 201 || reply.statusCode === 200) && Array.isArray(reply.body?.items) && Number.isInteger(reply.body.totalCents)) {
      return reply.body;
    }
    if (reply.statusCode === 409) {
      throw new StepFailed('insufficient_stock', errorMessage(reply.body, 'not enough stock for this order'), true);
    }
    if (reply.statusCode === 422) throw new StepFailed('unknown_product', errorMessage(reply.body, 'unknown product'), true);
    throw unexpected(PRODUCT_SERVICE, 'the reservation', reply);
  }

  private async charge(orderId: string, amountCents: number): Promise<Charge> {
    const reply = await this.step<Charge>(PAYMENT_SERVICE, {
      method: 'POST',
      path: '/charges',
      // The order id as key: however often this step is retried, the order is charged at most once.
      headers: { 'idempotency-key': orderId },
      body: { orderId, amountCents },
    });
    if ((reply.statusCode === 201 || reply.statusCode === 200) && reply.body?.status === 'succeeded' && typeof reply.body.id === 'string') {
      return reply.body;
    }
    if (reply.statusCode === 402) {
      const why = reply.body?.declineReason;
      throw new StepFailed('payment_declined', `payment declined${why ? `: ${why}` : ''}`, true);
    }
    if (reply.statusCode === 409) {
      // Our own earlier attempt is still being processed; it may yet succeed, so it is refunded by lookup.
      throw new StepFailed('dependency_unavailable', `${PAYMENT_SERVICE} is still processing the charge${errorCode(reply.body)}`, false);
    }
    throw unexpected(PAYMENT_SERVICE, 'the charge', reply);
  }

  private async commit(orderId: string): Promise<void> {
    // Committing twice is a no-op at product-service: the key lets the mesh retry a call cut off mid-way.
    const reply = await this.step(PRODUCT_SERVICE, {
      method: 'POST',
      path: `/reservations/${encodeURIComponent(orderId)}/commit`,
      headers: { 'idempotency-key': `commit-${orderId}` },
    });
    if (reply.statusCode >= 200 && reply.statusCode < 300) return;
    throw unexpected(PRODUCT_SERVICE, 'the reservation commit', reply);
  }

  /** A forward call: no answer or a 5xx ends the saga as 'dependency_unavailable' (503). */
  private async step<T>(service: string, call: MeshCall): Promise<MeshReply<T>> {
    let reply: MeshReply<T>;
    try {
      reply = await this.mesh.request<T>(service, { ...call, timeoutMs: this.stepTimeoutMs });
    } catch (err) {
      if (err instanceof MeshCallError) throw new StepFailed('dependency_unavailable', `${service} did not answer: ${err.message}`, false);
      throw err;
    }
    if (reply.statusCode >= 500) {
      throw new StepFailed('dependency_unavailable', `${service} answered ${reply.statusCode}${errorCode(reply.body)}`, false);
    }
    return reply;
  }

  /**
   * Undoes what the plan names. The release goes first because its answer tells whether the
   * point of no return was passed: a committed reservation means the order completed (only the
   * commit's answer was lost), and then the charge must be kept, not refunded.
   */
  private async compensate(order: StoredOrder, plan: CompensationPlan, log: SagaLogger): Promise<CompensationOutcome> {
    let complete = true;
    if (plan.release) {
      const released = await this.release(order.id, log);
      if (released === 'committed') return 'committed';
      complete = released === 'done';
    }
    if (plan.refund === 'lookup') complete = (await this.refundByLookup(order.id, plan.lookAgainIfNoCharge ?? false, log)) && complete;
    else if (plan.refund !== 'none') complete = (await this.refund(order.id, plan.refund.chargeId, log)) === 'done' && complete;
    if (!complete) log.warn({ orderId: order.id }, 'order saga: compensation incomplete, the recovery sweep will retry it');
    return complete ? 'compensated' : 'incomplete';
  }

  private release(orderId: string, log: SagaLogger): Promise<CallOutcome> {
    return this.compensation(orderId, 'reservation release', log, async () => {
      const reply = await this.mesh.request(PRODUCT_SERVICE, {
        method: 'POST',
        path: `/reservations/${encodeURIComponent(orderId)}/release`,
        // Releasing twice returns the stock once: safe for the mesh to retry.
        headers: { 'idempotency-key': `release-${orderId}` },
        timeoutMs: this.stepTimeoutMs,
      });
      if (reply.statusCode === 409 && codeOf(reply.body) === RESERVATION_COMMITTED) return 'committed';
      // 404: the reservation was never made, so there is nothing to release.
      return (reply.statusCode >= 200 && reply.statusCode < 300) || reply.statusCode === 404 ? 'done' : reply;
    });
  }

  private refund(orderId: string, chargeId: string, log: SagaLogger): Promise<CallOutcome> {
    return this.compensation(orderId, `refund of ${chargeId}`, log, async () => {
      const reply = await this.mesh.request(PAYMENT_SERVICE, {
        method: 'POST',
        path: `/charges/${encodeURIComponent(chargeId)}/refund`,
        timeoutMs: this.stepTimeoutMs,
      });
      // 404: there is no such charge, so nothing to give back.
      return reply.statusCode === 200 || reply.statusCode === 404 ? 'done' : reply;
    });
  }

  /** The charge call got no answer, so its id is unknown: ask payment-service which charges exist. */
  private async refundByLookup(orderId: string, lookAgainIfNoCharge: boolean, log: SagaLogger): Promise<boolean> {
    let charges: Charge[] = [];
    const listed = await this.compensation(orderId, 'charge lookup', log, async () => {
      const reply = await this.mesh.request<ChargeList>(PAYMENT_SERVICE, {
        path: `/charges?orderId=${encodeURIComponent(orderId)}`,
        timeoutMs: this.stepTimeoutMs,
      });
      if (reply.statusCode !== 200 || !Array.isArray(reply.body?.items)) return reply;
      charges = reply.body.items;
      return 'done';
    });
    if (listed !== 'done') return false;
    if (charges.length === 0 && lookAgainIfNoCharge) {
      log.info({ orderId }, 'order saga: no charge visible yet; the recovery sweep will look again');
      return false;
    }
    let complete = true;
    for (const charge of charges.filter((c) => c.status === 'succeeded')) {
      complete = (await this.refund(orderId, charge.id, log)) === 'done' && complete;
    }
    return complete;
  }

  /**
   * Compensation calls are idempotent, so a failed one is simply tried again. A 4xx other than the
   * expected ones will not change on retry: it is logged for a human and counted as finished, so
   * the sweep does not repeat it forever.
   */
  private async compensation(
    orderId: string,
    what: string,
    log: SagaLogger,
    attempt: () => Promise<'done' | 'committed' | MeshReply<unknown>>,
  ): Promise<CallOutcome> {
    for (let i = 0; ; i++) {
      let problem: string;
      try {
        const outcome = await attempt();
        if (outcome === 'done' || outcome === 'committed') {
          log.debug({ orderId, compensation: what, outcome }, 'order saga: compensation call done');
          return outcome;
        }
        if (outcome.statusCode < 500) {
          log.error({ orderId, compensation: what, statusCode: outcome.statusCode, body: outcome.body }, 'order saga: compensation refused');
          return 'done';
        }
        problem = `answered ${outcome.statusCode}${errorCode(outcome.body)}`;
      } catch (err) {
        if (!(err instanceof MeshCallError)) throw err;
        problem = err.message;
      }
      const pause = this.compensationBackoffMs[i];
      if (pause === undefined) {
        log.warn({ orderId, compensation: what, problem }, 'order saga: compensation call failed');
        return 'failed';
      }
      await sleep(pause);
    }
  }

  private async recover(olderThanMs: number, log: SagaLogger): Promise<RecoveryReport> {
    const report: RecoveryReport = { interrupted: [], confirmed: [], compensated: [], compensationIncomplete: [] };
    for (const order of this.store.findStalePending(olderThanMs)) {
      if (this.inFlight.has(order.id)) continue;
      log.info({ orderId: order.id, step: order.step }, 'order recovery: compensating an interrupted order');
      const outcome = await this.compensate(order, compensationPlan(order, false), log);
      if (outcome === 'committed') {
        // Stopped after the commit but before recording it: the order is complete.
        this.store.confirm(order.id);
        report.confirmed.push(order.id);
        continue;
      }
      const complete = outcome === 'compensated';
      this.store.fail(order.id, {
        reason: 'interrupted',
        detail: `order-service stopped while the order was at step '${order.step}'; ${complete ? 'what was done has been undone' : 'undoing what was done is still in progress'}`,
        // The original request never got an answer; a replay says "not placed, try again".
        httpStatus: ORDER_FAILURE_STATUS.interrupted,
        compensationPending: !complete,
      });
      report.interrupted.push(order.id);
      if (!complete) report.compensationIncomplete.push(order.id);
    }
    for (const order of this.store.findCompensationPending()) {
      if (report.interrupted.includes(order.id)) continue;
      const outcome = await this.compensate(order, compensationPlan(order, false), log);
      if (outcome === 'incomplete') {
        report.compensationIncomplete.push(order.id);
        continue;
      }
      // 'committed' here means a commit arrived late at product-service, after the order had failed.
      if (outcome === 'committed') log.error({ orderId: order.id }, 'order recovery: failed order has a committed reservation; needs a human');
      this.store.clearCompensationPending(order.id);
      report.compensated.push(order.id);
    }
    return report;
  }
}

/** An answer the contract does not allow for: the other side is broken or newer than us. */
function unexpected(service: string, what: string, reply: MeshReply<unknown>): StepFailed {
  // A 4xx means the other side did nothing, so there is nothing of this step to undo; a 2xx we
  // cannot read did do something.
  return new StepFailed(
    'dependency_unavailable',
    `${service} answered ${reply.statusCode}${errorCode(reply.body)} to ${what}`,
    reply.statusCode >= 400,
  );
}
