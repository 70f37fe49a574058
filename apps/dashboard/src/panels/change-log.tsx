// What each change made from the dashboard did, or why the control plane refused it: a live region screen readers announce.
import { ApiError } from '../api';

export interface LogLine {
  at: string;
  ok: boolean;
  text: string;
}

export const logLine = (ok: boolean, text: string): LogLine => ({ at: new Date().toLocaleTimeString(), ok, text });

/** A refusal with the control plane's code and reason, or a failure of the call itself. */
export function refusal(action: string, err: unknown): LogLine {
  if (err instanceof ApiError) return logLine(false, `${action} refused (${err.status} ${err.code}): ${err.message}`);
  return logLine(false, `${action} failed: ${(err as Error).message}`);
}

export function ChangeLog({ lines }: { lines: LogLine[] }) {
  return (
    <div class="log" role="status" aria-live="polite" data-testid="change-log">
      {lines.length === 0 && <p class="hint">Changes you make here, and what they did, show up here.</p>}
      <ol reversed>
        {lines.map((l, i) => (
          <li key={lines.length - i} class={l.ok ? 'ok' : 'bad'} data-ok={String(l.ok)}>
            <time>{l.at}</time> {l.text}
          </li>
        ))}
      </ol>
    </div>
  );
}
