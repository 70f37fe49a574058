// Opens a service's own SQLite database (WAL) and applies its numbered migrations once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

export interface Migration {
  version: number;
  sql: string;
}

/**
 * Several processes (two product-service replicas) may open the same file: WAL lets readers and
 * one writer proceed together, and busy_timeout makes writers queue instead of failing.
 */
export function openDatabase(file: string, migrations: readonly Migration[]): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  // Checked inside the write transaction: a replica starting at the same moment waits, then skips.
  const apply = db.transaction((m: Migration) => {
    if (isApplied.get(m.version)) return;
    db.exec(m.sql);
    record.run(m.version, new Date().toISOString());
  });
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) apply.immediate(m);
  return db;
}
