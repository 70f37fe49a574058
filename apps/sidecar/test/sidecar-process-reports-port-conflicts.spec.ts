import { ManagedProcess } from '@meshcart/service-kit';
import { startRecordingServer } from '@meshcart/testing';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';

describe('sidecar process', () => {
  it('starts on free ports, reports them, and stops on SIGTERM with exit code 0', async () => {
    const proc = await ManagedProcess.start({
      name: 'sidecar',
      entry: 'apps/sidecar/src/main.ts',
      env: {
        MESH_SERVICE: 'user-service',
        APP_URL: 'http://127.0.0.1:9',
        INBOUND_PORT: '0',
        OUTBOUND_PORT: '0',
        ADMIN_PORT: '0',
        MESH_CONTROL_PLANE_URLS: 'http://127.0.0.1:9',
        LOG_LEVEL: 'silent',
      },
    });
    expect(proc.ports).toMatchObject({ inbound: expect.any(Number), outbound: expect.any(Number), admin: expect.any(Number) });
    const health = await request(`http://127.0.0.1:${proc.ports['admin']}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    expect(await proc.stop()).toBe(0);
  });

  it('exits with a message naming the port and the variable when a port is taken', async () => {
    const taken = await startRecordingServer();
    try {
      const err = await ManagedProcess.start({
        name: 'sidecar',
        entry: 'apps/sidecar/src/main.ts',
        env: {
          MESH_SERVICE: 'user-service',
          APP_URL: 'http://127.0.0.1:9',
          INBOUND_PORT: '0',
          OUTBOUND_PORT: String(taken.port),
          ADMIN_PORT: '0',
          MESH_CONTROL_PLANE_URLS: 'http://127.0.0.1:9',
        },
      }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`port ${taken.port}`);
      expect((err as Error).message).toContain('OUTBOUND_PORT');
    } finally {
      await taken.close();
    }
  });
});
