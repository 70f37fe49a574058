import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { makeTempDir, startRecordingServer } from './index';

describe('test harnesses', () => {
  it('the recording server records requests and counts connections', async () => {
    const server = await startRecordingServer();
    const res = await request(`${server.url}/a?b=1`, { method: 'POST', body: 'hi' });
    expect(await res.body.json()).toEqual({ method: 'POST', url: '/a?b=1', body: 'hi' });
    expect(server.requests).toHaveLength(1);
    expect(server.connections()).toBe(1);
    await server.close();
  });

  it('temporary folders are removed on request', () => {
    const dir = makeTempDir();
    expect(existsSync(dir.path)).toBe(true);
    dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });
});
