// SQL for payment-service: charges keyed by idempotency key, behind prepared statements made once.
import type { Charge } from '@meshcart/contracts';
import type { Migration, SqliteDatabase } from '@meshcart/service-kit';
import { randomBytes } from 'node:crypto';

export const chargeMigrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE charges (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        currency TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        request_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('processing', 'succeeded', 'declined', 'refunded')),
        decline_reason TEXT,
        created_at TEXT NOT NULL,
        refunded_at TEXT
      );
      CREATE INDEX charges_by_order ON charges (order_id, created_at);
      CREATE INDEX charges_by_status ON charges (status, created_at);
    `,
  },
];

export type ChargeStatus = 'processing' | Charge['status'];

export interface ChargeRow {
  id: string;
  order_id: string;
  amount_cents: number;
  currency: string;
  idempotency_key: string;
  request_hash: string;
  status: ChargeStatus;
  decline_reason: string | null;
  created_at: string;
  refunded_at: string | null;
}

export interface NewCharge {
  idempotencyKey: string;
  requestHash: string;
  orderId: string;
  amountCents: number;
  currency: string;
}

export type BeginOutcome =
  | { kind: 'started'; charge: ChargeRow }
  | { kind: 'finished'; charge: ChargeRow }
  | { kind: 'in-progress'; charge: ChargeRow }
  | { kind: 'key-reused'; charge: ChargeRow };

/** Only finished charges have a public shape; 'processing' is internal bookkeeping. */
export function toCharge(row: ChargeRow): Charge {
  if (row.status === 'processing') throw new Error(`charge ${row.id} is still processing`);
  return {
    id: row.id,
    orderId: row.order_id,
    amountCents: row.amount_cents,
    currency: row.currency,
    status: row.status,
    ...(row.decline_reason ? { declineReason: row.decline_reason } : {}),
    createdAt: row.created_at,
    ...(row.refunded_at ? { refundedAt: row.refunded_at } : {}),
  };
}

export class ChargeStore {
  private readonly byKeyStmt;
  private readonly byIdStmt;
  private readonly insertStmt;
  private readonly finishStmt;
  private readonly refundStmt;
  private readonly byOrderStmt;
  private readonly recentStmt;
  private readonly interruptStmt;
  private readonly pingStmt;

  constructor(private readonly db: SqliteDatabase) {
    this.byKeyStmt = db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE idempotency_key = ?');
    this.byIdStmt = db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE id = ?');
    this.insertStmt = db.prepare<[string, string, number, string, string, string, string]>(
      `INSERT INTO charges (id, order_id, amount_cents, currency, idempotency_key, request_hash, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'processing', ?)`,
    );
    this.finishStmt = db.prepare<[string, string | null, string]>(
      "UPDATE charges SET status = ?, decline_reason = ? WHERE id = ? AND status = 'processing'",
    );
    this.refundStmt = db.prepare<[string, string]>("UPDATE charges SET status = 'refunded', refunded_at = ? WHERE id = ? AND status = 'succeeded'");
    this.byOrderStmt = db.prepare<[string], ChargeRow>("SELECT * FROM charges WHERE order_id = ? AND status != 'processing' ORDER BY created_at, id");
    this.recentStmt = db.prepare<[number], ChargeRow>("SELECT * FROM charges WHERE status != 'processing' ORDER BY created_at DESC, id LIMIT ?");
    this.interruptStmt = db.prepare<[string]>(
      "UPDATE charges SET status = 'declined', decline_reason = 'processor_interrupted' WHERE status = 'processing' AND created_at < ?",
    );
    this.pingStmt = db.prepare('SELECT 1');
  }

  /**
   * Claims the idempotency key by inserting a 'processing' row, or reports what already holds it.
   * IMMEDIATE takes the write lock before the lookup, so two requests with one key (in this process
   * or another sharing the file) cannot both see "no row" and both charge.
   */
  begin(charge: NewCharge): BeginOutcome {
    const run = this.db.transaction((): BeginOutcome => {
      const existing = this.byKeyStmt.get(charge.idempotencyKey);
      if (existing) {
        if (existing.request_hash !== charge.requestHash) return { kind: 'key-reused', charge: existing };
        return { kind: existing.status === 'processing' ? 'in-progress' : 'finished', charge: existing };
      }
      const id = `ch_${randomBytes(12).toString('base64url')}`;
      const createdAt = new Date().toISOString();
      this.insertStmt.run(id, charge.orderId, charge.amountCents, charge.currency, charge.idempotencyKey, charge.requestHash, createdAt);
      return { kind: 'started', charge: this.byIdStmt.get(id)! };
    });
    return run.immediate();
  }

  /** Records the processor's answer; a no-op if the row was already resolved (e.g. marked interrupted). */
  finish(id: string, status: 'succeeded' | 'declined', declineReason: string | null): ChargeRow {
    this.finishStmt.run(status, declineReason, id);
    return this.byIdStmt.get(id)!;
  }

  /** Only a succeeded charge becomes refunded, so of two refunds only one reports `claimed`. */
  markRefunded(id: string): { row: ChargeRow; claimed: boolean } {
    const claimed = this.refundStmt.run(new Date().toISOString(), id).changes === 1;
    return { row: this.byIdStmt.get(id)!, claimed };
  }

  findById(id: string): ChargeRow | undefined {
    return this.byIdStmt.get(id);
  }

  listByOrder(orderId: string): ChargeRow[] {
    return this.byOrderStmt.all(orderId);
  }

  listRecent(limit: number): ChargeRow[] {
    return this.recentStmt.all(limit);
  }

  /** Resolves 'processing' rows created before `before`; returns how many. */
  interruptStale(before: Date): number {
    return this.interruptStmt.run(before.toISOString()).changes;
  }

  isHealthy(): boolean {
    return this.pingStmt.get() !== undefined;
  }

  close(): void {
    this.db.close();
  }
}
