import { describe, expect, it } from 'vitest';
import { parseLabels } from '@meshcart/service-kit';
import { readSidecarEnv } from './sidecar-env';

describe('sidecar settings', () => {
  it('reads a full environment', () => {
    const opts = readSidecarEnv({
      MESH_SERVICE: 'payment-service',
      MESH_INSTANCE: 'payment-service-1',
      APP_PORT: '3004',
      MESH_CONTROL_PLANE_URLS: 'http://127.0.0.1:15010, http://127.0.0.1:15011',
      INBOUND_PORT: '0',
      MESH_LABELS: 'version=v2,zone=a',
      ADMIN_HOST: '0.0.0.0',
      ADVERTISE_HOST: 'payment-service-1',
    });
    expect(opts).toMatchObject({
      service: 'payment-service',
      instance: 'payment-service-1',
      appUrl: 'http://127.0.0.1:3004',
      controlPlaneUrls: ['http://127.0.0.1:15010', 'http://127.0.0.1:15011'],
      inboundPort: 0,
      outboundPort: 15001,
      adminPort: 15000,
      labels: { version: 'v2', zone: 'a' },
      adminHost: '0.0.0.0',
      advertiseHost: 'payment-service-1',
    });
  });

  it('names the missing or malformed variable', () => {
    expect(() => readSidecarEnv({})).toThrow(/MESH_SERVICE/);
    expect(() => readSidecarEnv({ MESH_SERVICE: 'a' })).toThrow(/APP_URL/);
    expect(() => readSidecarEnv({ MESH_SERVICE: 'a', APP_PORT: '3', OUTBOUND_PORT: '99999' })).toThrow(/OUTBOUND_PORT="99999" is invalid/);
    expect(() => parseLabels('version')).toThrow(/MESH_LABELS/);
  });
});
