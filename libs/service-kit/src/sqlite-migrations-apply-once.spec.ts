import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './index';

const migrations = [
  { version: 1, sql: 'CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)' },
  { version: 2, sql: 'ALTER TABLE things ADD COLUMN size INTEGER NOT NULL DEFAULT 0' },
];

describe('openDatabase', () => {
  // libs/testing depends on this lib, so its tests make their own temporary folder.
  const dir = { path: mkdtempSync(join(tmpdir(), 'service-kit-')) };
  afterEach(() => rmSync(dir.path, { recursive: true, force: true }));

  it('opens in WAL mode and applies each migration exactly once across opens', () => {
    const file = join(dir.path, 'nested', 'svc.db');
    const a = openDatabase(file, migrations);
    const b = openDatabase(file, migrations);
    expect(a.pragma('journal_mode', { simple: true })).toBe('wal');
    a.prepare('INSERT INTO things (name, size) VALUES (?, ?)').run('x', 2);
    expect(b.prepare('SELECT name, size FROM things').all()).toEqual([{ name: 'x', size: 2 }]);
    expect(b.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual([{ version: 1 }, { version: 2 }]);
    a.close();
    b.close();
  });
});
