import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from './registry';

const reg = (instance: string, endpointUrl?: string) => ({
  service: 'product-service',
  instance,
  mode: 'sidecar' as const,
  labels: { version: 'v1' },
  ...(endpointUrl ? { endpointUrl } : {}),
});

describe('Registry', () => {
  let registry: Registry | undefined;
  afterEach(() => registry?.stop());

  it('drops an instance whose lease expires and announces the change', async () => {
    registry = new Registry(200);
    registry.start();
    let changes = 0;
    registry.on('change', () => changes++);
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    expect(registry.endpoints()['product-service']).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(registry.get('p-1')).toBeUndefined();
    expect(registry.endpoints()).toEqual({});
    expect(changes).toBe(2);
  });

  it('keeps an instance that heartbeats (re-registers) within its lease', async () => {
    registry = new Registry(300);
    registry.start();
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    }
    expect(registry.get('p-1')).toBeDefined();
  });

  it('keeps a drained instance out of the endpoints when it registers again, even after its lease lapsed, until undrained', () => {
    let now = 0;
    registry = new Registry(1_000, () => now);
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    registry.upsert(reg('p-2', 'http://127.0.0.1:2'));
    expect(registry.setDrained('p-1', true)).toBe(true);
    expect(registry.setDrained('p-1', true)).toBe(false);
    expect(registry.endpoints()['product-service']!.map((e) => e.instance)).toEqual(['p-2']);
    registry.remove('p-1');
    now += 5_000;
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    expect(registry.endpoints()['product-service']!.map((e) => e.instance)).toEqual(['p-2']);
    expect(registry.drainedInstances()).toEqual(['p-1']);
    registry.setDrained('p-1', false);
    const back = registry.endpoints()['product-service']!.map((e) => e.instance);
    expect(back.sort()).toEqual(['p-1', 'p-2']);
  });

  it('announces a change only when what peers see changes, not on every heartbeat', () => {
    registry = new Registry(10_000);
    let changes = 0;
    registry.on('change', () => changes++);
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    expect(changes).toBe(1);
    registry.upsert(reg('p-1', 'http://127.0.0.1:2'));
    expect(changes).toBe(2);
  });

  it('never extends a lease past when the proxy was last heard from, whoever passes the registration on', () => {
    let now = 100_000;
    registry = new Registry(10_000, () => now);
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'));
    // Another replica heard from p-1 six seconds ago: older news than this replica's own.
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'), now - 6_000);
    expect(registry.get('p-1')!.lastSeen).toBe(100_000);
    now += 5_000;
    registry.upsert(reg('p-1', 'http://127.0.0.1:1'), now - 2_000);
    expect(registry.get('p-1')!.lastSeen).toBe(103_000);
  });

  it('records which replica holds a stream; a close from another replica leaves it open', () => {
    registry = new Registry(10_000);
    registry.upsert(reg('p-1'));
    registry.setStream('p-1', 'cp-a', true);
    registry.setStream('p-1', 'cp-b', false);
    expect(registry.get('p-1')!.streamAt).toBe('cp-a');
    registry.dropStreamsAt('cp-a');
    expect(registry.get('p-1')!.streamAt).toBeUndefined();
  });

  it('lists only instances that take mesh traffic as endpoints, with their weight label', () => {
    registry = new Registry(10_000);
    registry.upsert({ ...reg('gw'), service: 'gateway', mode: 'edge' });
    registry.upsert({ ...reg('p-1', 'http://127.0.0.1:1'), labels: { weight: '3' } });
    expect(registry.endpoints()).toEqual({
      'product-service': [{ instance: 'p-1', url: 'http://127.0.0.1:1', weight: 3, labels: { weight: '3' } }],
    });
  });
});
