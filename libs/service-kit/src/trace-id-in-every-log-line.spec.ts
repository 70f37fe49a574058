import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createServiceApp } from './index';

describe('service logs', () => {
  it('carry the trace id of the request in every line the request logs', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    const app = createServiceApp({ name: 'test', logger: { level: 'info', stream } });
    app.get('/work', async (req) => {
      req.log.info('working');
      return { ok: true };
    });
    await app.inject({ url: '/work', headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    await app.close();
    const working = lines.find((l) => l['msg'] === 'working');
    expect(working?.['traceId']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(lines.filter((l) => l['reqId'] && l['traceId'] === undefined && l['msg'] !== 'incoming request')).toEqual([]);
  });
});
