import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AccessLog } from './access-log';
import type { RequestRecord } from '../telemetry/telemetry-layer';

const record = (i: number): RequestRecord => ({
  direction: 'outbound',
  srcService: 'order-service',
  dstService: 'payment-service',
  route: 'default',
  method: 'GET',
  path: `/charges/${i}`,
  statusCode: 200,
  durationSeconds: 0.001,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
});

function logTo(file: string) {
  const fd = openSync(file, 'w');
  return { log: new AccessLog({ service: 'order-service', instance: 'order-1' }, fd), close: () => closeSync(fd) };
}
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('access logs', () => {
  it('sync: one line per request, written before the call returns, with the trace id', () => {
    const file = join(tmpdir(), `access-sync-${process.pid}.log`);
    const { log, close } = logTo(file);
    log.configure({ mode: 'sync', sampleRate: 0 });
    for (let i = 0; i < 3; i++) log.onRequestEnd(record(i));
    expect(lines(file).map((l) => l['path'])).toEqual(['/charges/0', '/charges/1', '/charges/2']);
    expect(lines(file)[0]).toMatchObject({ log: 'access', service: 'order-service', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    close();
  });

  it('sampled: only the sampled share, buffered until flushed; off: nothing', async () => {
    const file = join(tmpdir(), `access-sampled-${process.pid}.log`);
    const { log, close } = logTo(file);
    log.configure({ mode: 'sampled', sampleRate: 1 });
    for (let i = 0; i < 5; i++) log.onRequestEnd(record(i));
    expect(lines(file)).toEqual([]); // buffered: nothing written yet
    await log.flush();
    log.configure({ mode: 'sampled', sampleRate: 0 });
    for (let i = 5; i < 10; i++) log.onRequestEnd(record(i));
    log.configure({ mode: 'off', sampleRate: 1 });
    for (let i = 10; i < 15; i++) log.onRequestEnd(record(i));
    await log.flush();
    expect(lines(file).map((l) => l['path'])).toEqual(['/charges/0', '/charges/1', '/charges/2', '/charges/3', '/charges/4']);
    close();
  });
});
