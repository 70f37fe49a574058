// A processor configured with no latency answers in the same turn: a 0 ms timer would still cost a
// pass of the event loop's timers (over a millisecond on a quiet machine), on every charge of the case.
import { describe, expect, it } from 'vitest';
import { SimulatedProcessor } from './simulated-processor';

/** What settles first: `call` or a timer of 0 ms armed just before it. */
async function firstOf(call: () => Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  const timer = new Promise<void>((resolve) => setTimeout(() => resolve(void order.push('timer')), 0));
  await call();
  order.push('processor');
  await timer;
  return order;
}

describe('the simulated processor', () => {
  it('charges and refunds without a timer when its latency is 0', async () => {
    const processor = new SimulatedProcessor({ latencyMs: 0, declineRate: 0 });
    expect(await firstOf(() => processor.charge())).toEqual(['processor', 'timer']);
    expect(await firstOf(() => processor.refund())).toEqual(['processor', 'timer']);
  });

  it('still waits its latency when it has one', async () => {
    const processor = new SimulatedProcessor({ latencyMs: 5, declineRate: 0 });
    expect(await firstOf(() => processor.charge())).toEqual(['timer', 'processor']);
    expect(await firstOf(() => processor.refund())).toEqual(['timer', 'processor']);
  });
});
