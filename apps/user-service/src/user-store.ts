// SQL for user-service: accounts and the signing key, behind prepared statements made once.
import type { Migration, SqliteDatabase } from '@meshcart/service-kit';

export const userMigrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        private_jwk TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
];

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: string;
}

export interface SigningKeyRow {
  kid: string;
  private_jwk: string;
  created_at: string;
}

/** Thrown by `insertUser` when the email already has an account. */
export class EmailTakenError extends Error {
  constructor(email: string) {
    super(`an account with email ${email} already exists`);
    this.name = 'EmailTakenError';
  }
}

export class UserStore {
  private readonly insertUserStmt;
  private readonly byIdStmt;
  private readonly byEmailStmt;
  private readonly insertFirstKeyStmt;
  private readonly activeKeyStmt;
  private readonly pingStmt;

  constructor(private readonly db: SqliteDatabase) {
    this.insertUserStmt = db.prepare<[string, string, string, string, string]>(
      'INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.byIdStmt = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
    this.byEmailStmt = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
    // Only the first key is ever stored: a replica that starts at the same moment and lost the race
    // adopts the winner's key, so every replica signs and publishes the same one.
    this.insertFirstKeyStmt = db.prepare<[string, string, string]>(
      'INSERT INTO signing_keys (kid, private_jwk, created_at) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)',
    );
    this.activeKeyStmt = db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid LIMIT 1');
    this.pingStmt = db.prepare('SELECT 1');
  }

  /** Emails are compared as stored: callers pass them already normalized. */
  insertUser(row: UserRow): void {
    try {
      this.insertUserStmt.run(row.id, row.email, row.name, row.password_hash, row.created_at);
    } catch (err) {
      // The UNIQUE index, not a prior lookup, decides: two registrations racing cannot both win.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new EmailTakenError(row.email);
      throw err;
    }
  }

  findById(id: string): UserRow | undefined {
    return this.byIdStmt.get(id);
  }

  findByEmail(email: string): UserRow | undefined {
    return this.byEmailStmt.get(email);
  }

  activeSigningKey(): SigningKeyRow | undefined {
    return this.activeKeyStmt.get();
  }

  /** Stores the key unless one exists already; returns the key to use either way. */
  saveFirstSigningKey(row: SigningKeyRow): SigningKeyRow {
    this.insertFirstKeyStmt.run(row.kid, row.private_jwk, row.created_at);
    return this.activeSigningKey()!;
  }

  isHealthy(): boolean {
    return this.pingStmt.get() !== undefined;
  }

  close(): void {
    this.db.close();
  }
}
