// The orders table: every saga step lands here before the next one starts, so no order is ever lost.
import type { Order, OrderFailureReason, OrderStatus } from '@meshcart/contracts';
import { openDatabase, type Migration, type SqliteDatabase } from '@meshcart/service-kit';

/**
 * The saga step an order has *started*. It is written before the remote call, so after a crash
 * the step says which effects may exist elsewhere and therefore what recovery must undo.
 */
export type SagaStep = 'verifying_user' | 'reserving' | 'charging' | 'committing' | 'done';

export interface OrderItem {
  productId: string;
  quantity: number;
  priceCents?: number;
}

/** An order as stored: the public Order plus what idempotency and recovery need. */
export interface StoredOrder extends Order {
  idempotencyKey: string;
  requestHash: string;
  step: SagaStep;
  /** The HTTP status POST /orders answered (or will answer) with, so a replay answers the same. */
  httpStatus: number | null;
  /** A compensation call did not get through; the recovery sweep retries it. */
  compensationPending: boolean;
}

export type CreateResult = { created: true; order: StoredOrder } | { created: false; existing: StoredOrder };

const migrations: Migration[] = [
  {
    version: 1,
    // Items are a JSON column: they are written with the order and priced once by the
    // reservation, never queried on their own, so a second table would only add joins.
    sql: `
      CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed')),
        step TEXT NOT NULL,
        reason TEXT,
        detail TEXT,
        http_status INTEGER,
        items TEXT NOT NULL,
        total_cents INTEGER NOT NULL DEFAULT 0,
        charge_id TEXT,
        compensation_pending INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (user_id, idempotency_key)
      );
      CREATE INDEX orders_by_user ON orders (user_id, created_at DESC);
      CREATE INDEX orders_by_status ON orders (status, updated_at);
    `,
  },
];

interface OrderRow {
  id: string;
  user_id: string;
  idempotency_key: string;
  request_hash: string;
  status: OrderStatus;
  step: SagaStep;
  reason: OrderFailureReason | null;
  detail: string | null;
  http_status: number | null;
  items: string;
  total_cents: number;
  charge_id: string | null;
  compensation_pending: number;
  created_at: string;
  updated_at: string;
}

function fromRow(row: OrderRow): StoredOrder {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.detail ? { detail: row.detail } : {}),
    items: JSON.parse(row.items) as OrderItem[],
    totalCents: row.total_cents,
    ...(row.charge_id ? { chargeId: row.charge_id } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    step: row.step,
    httpStatus: row.http_status,
    compensationPending: row.compensation_pending === 1,
  };
}

/** Strips the bookkeeping columns: what clients see of an order. */
export function toPublicOrder(order: StoredOrder): Order {
  const { idempotencyKey: _k, requestHash: _h, step: _s, httpStatus: _c, compensationPending: _p, ...rest } = order;
  return rest;
}

export class OrderStore {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.statements = {
      insert: db.prepare(`
        INSERT INTO orders (id, user_id, idempotency_key, request_hash, status, step, items, created_at, updated_at)
        VALUES (@id, @userId, @idempotencyKey, @requestHash, 'pending', 'verifying_user', @items, @now, @now)
        ON CONFLICT (user_id, idempotency_key) DO NOTHING`),
      byId: db.prepare<[string], OrderRow>('SELECT * FROM orders WHERE id = ?'),
      byKey: db.prepare<[string, string], OrderRow>('SELECT * FROM orders WHERE user_id = ? AND idempotency_key = ?'),
      byIdForUser: db.prepare<[string, string], OrderRow>('SELECT * FROM orders WHERE id = ? AND user_id = ?'),
      // rowid breaks ties between orders created in the same millisecond.
      listForUser: db.prepare<[string, number], OrderRow>('SELECT * FROM orders WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?'),
      setStep: db.prepare("UPDATE orders SET step = @step, updated_at = @now WHERE id = @id AND status = 'pending'"),
      setReservation: db.prepare(
        "UPDATE orders SET items = @items, total_cents = @totalCents, updated_at = @now WHERE id = @id AND status = 'pending'",
      ),
      setCharge: db.prepare("UPDATE orders SET charge_id = @chargeId, updated_at = @now WHERE id = @id AND status = 'pending'"),
      confirm: db.prepare(`
        UPDATE orders SET status = 'confirmed', step = 'done', http_status = 201, updated_at = @now
        WHERE id = @id AND status = 'pending'`),
      fail: db.prepare(`
        UPDATE orders SET status = 'failed', reason = @reason, detail = @detail, http_status = @httpStatus,
          compensation_pending = @compensationPending, updated_at = @now
        WHERE id = @id AND status = 'pending'`),
      clearCompensation: db.prepare('UPDATE orders SET compensation_pending = 0, updated_at = @now WHERE id = @id'),
      stalePending: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE status = 'pending' AND updated_at < ? ORDER BY updated_at LIMIT 100"),
      compensationPending: db.prepare<[], OrderRow>(
        "SELECT * FROM orders WHERE status = 'failed' AND compensation_pending = 1 ORDER BY updated_at LIMIT 100",
      ),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  /** `now` is for tests that need orders which look old. */
  static open(file: string, now?: () => Date): OrderStore {
    return new OrderStore(openDatabase(file, migrations), now);
  }

  /**
   * Inserts a pending order unless this user already used the key; the UNIQUE constraint makes
   * that check atomic, so two concurrent requests with one key can never both start a saga.
   */
  create(input: { id: string; userId: string; idempotencyKey: string; requestHash: string; items: OrderItem[] }): CreateResult {
    const result = this.statements.insert.run({
      id: input.id,
      userId: input.userId,
      idempotencyKey: input.idempotencyKey,
      requestHash: input.requestHash,
      items: JSON.stringify(input.items),
      now: this.timestamp(),
    });
    if (result.changes === 1) return { created: true, order: this.require(input.id) };
    const existing = this.statements.byKey.get(input.userId, input.idempotencyKey);
    if (!existing) throw new Error(`order with key ${input.idempotencyKey} vanished after a conflicting insert`);
    return { created: false, existing: fromRow(existing) };
  }

  get(id: string): StoredOrder | undefined {
    const row = this.statements.byId.get(id);
    return row ? fromRow(row) : undefined;
  }

  getForUser(id: string, userId: string): StoredOrder | undefined {
    const row = this.statements.byIdForUser.get(id, userId);
    return row ? fromRow(row) : undefined;
  }

  listForUser(userId: string, limit = 100): StoredOrder[] {
    return this.statements.listForUser.all(userId, limit).map(fromRow);
  }

  setStep(id: string, step: SagaStep): void {
    this.statements.setStep.run({ id, step, now: this.timestamp() });
  }

  recordReservation(id: string, items: OrderItem[], totalCents: number): void {
    this.statements.setReservation.run({ id, items: JSON.stringify(items), totalCents, now: this.timestamp() });
  }

  recordCharge(id: string, chargeId: string): void {
    this.statements.setCharge.run({ id, chargeId, now: this.timestamp() });
  }

  confirm(id: string): StoredOrder {
    this.statements.confirm.run({ id, now: this.timestamp() });
    return this.require(id);
  }

  fail(id: string, failure: { reason: OrderFailureReason; detail: string; httpStatus: number; compensationPending: boolean }): StoredOrder {
    this.statements.fail.run({
      id,
      reason: failure.reason,
      detail: failure.detail,
      httpStatus: failure.httpStatus,
      compensationPending: failure.compensationPending ? 1 : 0,
      now: this.timestamp(),
    });
    return this.require(id);
  }

  clearCompensationPending(id: string): void {
    this.statements.clearCompensation.run({ id, now: this.timestamp() });
  }

  /** Pending orders whose saga has not moved for `olderThanMs`. */
  findStalePending(olderThanMs: number): StoredOrder[] {
    const cutoff = new Date(this.now().getTime() - olderThanMs).toISOString();
    return this.statements.stalePending.all(cutoff).map(fromRow);
  }

  findCompensationPending(): StoredOrder[] {
    return this.statements.compensationPending.all().map(fromRow);
  }

  isHealthy(): boolean {
    return this.db.open && (this.statements.ping.get() as { ok: number } | undefined)?.ok === 1;
  }

  close(): void {
    this.db.close();
  }

  private require(id: string): StoredOrder {
    const order = this.get(id);
    if (!order) throw new Error(`order ${id} not found`);
    return order;
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}
