// The audit trail: every change made through this control plane, who made it, and the config version before and after.
import type { AuditEntry } from '@meshcart/control-plane-api';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Entries kept in memory and answered; the file keeps them all. */
const KEPT = 1_000;

export class AuditLog {
  private readonly entries: AuditEntry[] = [];

  /** `file`: JSON lines, appended (and read back at start); in memory only without one. */
  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-KEPT);
      for (const line of lines) {
        try {
          this.entries.push(JSON.parse(line) as AuditEntry);
        } catch {
          // A line cut short by a crash: the rest of the trail still counts.
        }
      }
    }
  }

  record(entry: Omit<AuditEntry, 'at'>): AuditEntry {
    const full: AuditEntry = { at: new Date().toISOString(), ...entry };
    this.entries.push(full);
    if (this.entries.length > KEPT) this.entries.splice(0, this.entries.length - KEPT);
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, `${JSON.stringify(full)}\n`, { mode: 0o600 });
    }
    return full;
  }

  /** Oldest first. */
  list(): AuditEntry[] {
    return [...this.entries];
  }
}
