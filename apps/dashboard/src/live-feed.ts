// The dashboard's live feed: one stream of snapshots from the control plane, reconnected after a drop.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { authHeaders } from './api';
import { SseParser } from './sse';

export type FeedState = { status: 'connecting' } | { status: 'live' } | { status: 'error'; message: string };

export function openFeed(onSnapshot: (s: DashboardSnapshot) => void, onState: (s: FeedState) => void): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      onState({ status: 'connecting' });
      try {
        const res = await fetch('api/v1/dashboard/stream', { headers: authHeaders(), signal: controller.signal });
        if (!res.ok || !res.body) {
          const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
          throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `the stream answered ${res.status}`);
        }
        onState({ status: 'live' });
        const parser = new SseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(value)) if (e.event === 'snapshot') onSnapshot(JSON.parse(e.data) as DashboardSnapshot);
        }
        if (!stopped) onState({ status: 'error', message: 'the control plane closed the stream' });
      } catch (err) {
        if (stopped) return;
        onState({ status: 'error', message: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
