// payment-service settings beyond the common ones: how the simulated processor behaves.
import { readNumber } from '@meshcart/service-kit';
import type { ProcessorOptions } from './simulated-processor';

export const DEFAULT_LATENCY_MS = 20;
export const DEFAULT_DECLINE_RATE = 0;

/** PAYMENT_LATENCY_MS (0..60000, default 20) and PAYMENT_DECLINE_RATE (0..1, default 0). */
export function readPaymentConfig(env: NodeJS.ProcessEnv = process.env): { processor: ProcessorOptions } {
  return {
    processor: {
      latencyMs: readNumber(env, 'PAYMENT_LATENCY_MS', DEFAULT_LATENCY_MS, 0, 60_000),
      declineRate: readNumber(env, 'PAYMENT_DECLINE_RATE', DEFAULT_DECLINE_RATE, 0, 1),
    },
  };
}
