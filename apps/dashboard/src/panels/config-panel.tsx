// Config: the profile and version in force, every applied version with what it changed, and rollback to any of them.
import type { ConfigHistory } from '@meshcart/control-plane-api';
import type { ConfigChange } from '@meshcart/mesh-config';
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { shortVersion } from '../format';
import { logLine, refusal, type LogLine } from './change-log';

const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

export function ConfigPanel({ version, profile, report }: { version: string; profile: string; report: (l: LogLine) => void }) {
  const [history, setHistory] = useState<ConfigHistory>([]);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<{ seq: number; changes: ConfigChange[] } | undefined>();

  // The history is read again whenever the version in force changes (here or by anyone else).
  useEffect(() => {
    api.history().then(
      (h) => (setHistory(h), setError('')),
      (err: Error) => setError(err.message),
    );
  }, [version]);

  const showChanges = async (i: number) => {
    const entry = history[i]!;
    if (open?.seq === entry.seq) return setOpen(undefined);
    const prev = history[i - 1];
    try {
      setOpen({ seq: entry.seq, changes: prev ? await api.diff(prev.version, entry.version) : [] });
    } catch (err) {
      report(refusal(`changes of version ${shortVersion(entry.version)}`, err));
    }
  };
  const rollback = async (to: string) => {
    try {
      const r = await api.rollback(to);
      report(logLine(true, `Rolled back to ${shortVersion(to)}: version ${shortVersion(r.version)} in force, ${r.changes.length} knob(s) changed.`));
    } catch (err) {
      report(refusal(`Rollback to ${shortVersion(to)}`, err));
    }
  };

  const rows = history.map((h, i) => ({ h, i })).reverse();
  return (
    <section id="config" aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <p>
        Profile <strong>{profile}</strong>, version <code>{shortVersion(version)}</code>.
      </p>
      {error && <p class="bad">Could not read the history: {error}</p>}
      <div class="scroll" tabIndex={0} role="region" aria-label="Config history (scrolls sideways)">
        <table data-testid="history-table">
          <caption>Applied versions, newest first</caption>
          <thead>
            <tr>
              {['#', 'version', 'profile', 'source', 'by', 'applied', 'changes', 'rollback'].map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(({ h, i }) => (
              <Fragment key={h.seq}>
                <tr data-seq={h.seq}>
                  <td>{h.seq}</td>
                  <td>
                    <code>{shortVersion(h.version)}</code>
                  </td>
                  <td>{h.profile}</td>
                  <td>{h.source}</td>
                  <td>{h.by ?? '—'}</td>
                  <td>{new Date(h.appliedAt).toLocaleTimeString()}</td>
                  <td>
                    {i > 0 && (
                      <button type="button" aria-expanded={open?.seq === h.seq} onClick={() => void showChanges(i)}>
                        {open?.seq === h.seq ? 'Hide' : 'Show'} changes<span class="sr-only"> of version {h.seq}</span>
                      </button>
                    )}
                  </td>
                  <td>
                    {h.version !== version && (
                      <button type="button" onClick={() => void rollback(h.version)}>
                        Roll back<span class="sr-only"> to version {h.seq}</span>
                      </button>
                    )}
                  </td>
                </tr>
                {open?.seq === h.seq && (
                  <tr>
                    <td colSpan={8}>
                      {open.changes.length === 0 ? (
                        'No knob changed.'
                      ) : (
                        <ul class="diff">
                          {open.changes.map((c) => (
                            <li key={c.path}>
                              <code>{c.path}</code>: {show(c.from)} → {show(c.to)}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
