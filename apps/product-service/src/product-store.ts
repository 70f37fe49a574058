// SQL for product-service: the catalog, stock and per-order reservations, behind prepared statements made once.
import type { LineItemInput, Product, ProductSummary, Reservation } from '@meshcart/contracts';
import type { Migration, SqliteDatabase } from '@meshcart/service-kit';

export const productMigrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE products (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        category TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        stock INTEGER NOT NULL CHECK (stock >= 0)
      );
      CREATE TABLE reservations (
        order_id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('reserved', 'released', 'committed')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE reservation_items (
        order_id TEXT NOT NULL REFERENCES reservations (order_id),
        product_id TEXT NOT NULL REFERENCES products (id),
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        price_cents INTEGER NOT NULL,
        PRIMARY KEY (order_id, product_id)
      );
    `,
  },
];

interface ProductRow {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  stock: number;
}

interface ReservationRow {
  order_id: string;
  state: Reservation['state'];
}

interface ReservationItemRow {
  product_id: string;
  quantity: number;
  price_cents: number;
}

export interface StockShortage {
  productId: string;
  /** Position of the item in the request, for error details. */
  index: number;
  requested: number;
  available: number;
}

export type ReserveOutcome =
  | { kind: 'created' | 'existing'; reservation: Reservation }
  | { kind: 'unknown-products'; products: { productId: string; index: number }[] }
  | { kind: 'insufficient-stock'; shortages: StockShortage[] };

export type TransitionOutcome = { kind: 'ok'; reservation: Reservation } | { kind: 'not-found' } | { kind: 'wrong-state'; reservation: Reservation };

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  name: r.name,
  description: r.description,
  category: r.category,
  priceCents: r.price_cents,
  stock: r.stock,
});

export class ProductStore {
  private readonly insertProductStmt;
  private readonly countStmt;
  private readonly pageStmt;
  private readonly byIdStmt;
  private readonly reservationStmt;
  private readonly reservationItemsStmt;
  private readonly insertReservationStmt;
  private readonly insertItemStmt;
  private readonly takeStockStmt;
  private readonly returnStockStmt;
  private readonly setStateStmt;
  private readonly pingStmt;

  constructor(private readonly db: SqliteDatabase) {
    this.insertProductStmt = db.prepare<[string, string, string, string, number, number]>(
      'INSERT OR IGNORE INTO products (id, name, description, category, price_cents, stock) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const matches = `(@search = '' OR instr(lower(name), @search) > 0 OR instr(lower(description), @search) > 0
      OR instr(lower(category), @search) > 0)`;
    this.countStmt = db.prepare<{ search: string }, { total: number }>(`SELECT count(*) AS total FROM products WHERE ${matches}`);
    this.pageStmt = db.prepare<{ search: string; limit: number; offset: number }, Pick<ProductRow, 'id' | 'name' | 'price_cents' | 'stock'>>(
      `SELECT id, name, price_cents, stock FROM products WHERE ${matches} ORDER BY id LIMIT @limit OFFSET @offset`,
    );
    this.byIdStmt = db.prepare<[string], ProductRow>('SELECT * FROM products WHERE id = ?');
    this.reservationStmt = db.prepare<[string], ReservationRow>('SELECT order_id, state FROM reservations WHERE order_id = ?');
    this.reservationItemsStmt = db.prepare<[string], ReservationItemRow>(
      'SELECT product_id, quantity, price_cents FROM reservation_items WHERE order_id = ? ORDER BY rowid',
    );
    this.insertReservationStmt = db.prepare<[string, string, string]>(
      "INSERT INTO reservations (order_id, state, created_at, updated_at) VALUES (?, 'reserved', ?, ?)",
    );
    this.insertItemStmt = db.prepare<[string, string, number, number]>(
      'INSERT INTO reservation_items (order_id, product_id, quantity, price_cents) VALUES (?, ?, ?, ?)',
    );
    this.takeStockStmt = db.prepare<[number, string, number]>('UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?');
    this.returnStockStmt = db.prepare<[number, string]>('UPDATE products SET stock = stock + ? WHERE id = ?');
    this.setStateStmt = db.prepare<[string, string, string]>('UPDATE reservations SET state = ?, updated_at = ? WHERE order_id = ?');
    this.pingStmt = db.prepare('SELECT 1');
  }

  /**
   * One immediate transaction of INSERT OR IGNOREs: two replicas seeding the same file at once
   * queue on the write lock, and the second inserts nothing instead of failing or duplicating.
   * Existing rows are left alone, so a restart never resets stock.
   */
  seed(products: readonly Product[]): number {
    const run = this.db.transaction(() => {
      let inserted = 0;
      for (const p of products) {
        inserted += this.insertProductStmt.run(p.id, p.name, p.description, p.category, p.priceCents, p.stock).changes;
      }
      return inserted;
    });
    return run.immediate();
  }

  list(search: string, page: number, pageSize: number): { items: ProductSummary[]; total: number } {
    const needle = search.trim().toLowerCase();
    const { total } = this.countStmt.get({ search: needle })!;
    const rows = this.pageStmt.all({ search: needle, limit: pageSize, offset: (page - 1) * pageSize });
    return { total, items: rows.map((r) => ({ id: r.id, name: r.name, priceCents: r.price_cents, stock: r.stock })) };
  }

  findProduct(id: string): Product | undefined {
    const row = this.byIdStmt.get(id);
    return row && toProduct(row);
  }

  findReservation(orderId: string): Reservation | undefined {
    const row = this.reservationStmt.get(orderId);
    if (!row) return undefined;
    const items = this.reservationItemsStmt.all(orderId).map((i) => ({ productId: i.product_id, quantity: i.quantity, priceCents: i.price_cents }));
    return { orderId, state: row.state, items, totalCents: items.reduce((sum, i) => sum + i.quantity * i.priceCents, 0) };
  }

  /**
   * All checks happen before any write, inside one IMMEDIATE transaction: the write lock is taken
   * up front, so another replica cannot sell the same units between our check and our update.
   */
  reserve(orderId: string, items: readonly LineItemInput[]): ReserveOutcome {
    const run = this.db.transaction((): ReserveOutcome => {
      const existing = this.findReservation(orderId);
      if (existing) return { kind: 'existing', reservation: existing };

      const wanted = new Map<string, { quantity: number; index: number }>();
      items.forEach((item, index) => {
        const prior = wanted.get(item.productId);
        wanted.set(item.productId, { quantity: (prior?.quantity ?? 0) + item.quantity, index: prior?.index ?? index });
      });

      const found = new Map<string, ProductRow>();
      const unknown: { productId: string; index: number }[] = [];
      const shortages: StockShortage[] = [];
      for (const [productId, { quantity, index }] of wanted) {
        const row = this.byIdStmt.get(productId);
        if (!row) unknown.push({ productId, index });
        else if (row.stock < quantity) shortages.push({ productId, index, requested: quantity, available: row.stock });
        else found.set(productId, row);
      }
      if (unknown.length > 0) return { kind: 'unknown-products', products: unknown };
      if (shortages.length > 0) return { kind: 'insufficient-stock', shortages };

      const now = new Date().toISOString();
      this.insertReservationStmt.run(orderId, now, now);
      for (const [productId, { quantity }] of wanted) {
        // The stock guard is re-checked by the UPDATE itself; the CHECK constraint backs it up.
        if (this.takeStockStmt.run(quantity, productId, quantity).changes !== 1) throw new Error(`stock of ${productId} changed mid-transaction`);
        this.insertItemStmt.run(orderId, productId, quantity, found.get(productId)!.price_cents);
      }
      return { kind: 'created', reservation: this.findReservation(orderId)! };
    });
    return run.immediate();
  }

  /** Returns the stock only on the reserved → released step, so releasing twice returns it once. */
  release(orderId: string): TransitionOutcome {
    return this.transition(orderId, 'released', (reservation) => {
      for (const item of reservation.items) this.returnStockStmt.run(item.quantity, item.productId);
    });
  }

  commit(orderId: string): TransitionOutcome {
    return this.transition(orderId, 'committed', () => undefined);
  }

  isHealthy(): boolean {
    return this.pingStmt.get() !== undefined;
  }

  close(): void {
    this.db.close();
  }

  private transition(orderId: string, to: 'released' | 'committed', effect: (r: Reservation) => void): TransitionOutcome {
    const run = this.db.transaction((): TransitionOutcome => {
      const reservation = this.findReservation(orderId);
      if (!reservation) return { kind: 'not-found' };
      if (reservation.state === to) return { kind: 'ok', reservation };
      if (reservation.state !== 'reserved') return { kind: 'wrong-state', reservation };
      effect(reservation);
      this.setStateStmt.run(to, new Date().toISOString(), orderId);
      return { kind: 'ok', reservation: { ...reservation, state: to } };
    });
    return run.immediate();
  }
}
