// payment-service reads the simulated processor's latency and decline rate from the environment.
import { EnvError } from '@meshcart/service-kit';
import { describe, expect, it } from 'vitest';
import { readPaymentConfig } from './config';

describe('readPaymentConfig', () => {
  it('defaults to 20 ms latency and no declines', () => {
    expect(readPaymentConfig({})).toEqual({ processor: { latencyMs: 20, declineRate: 0 } });
  });

  it('reads PAYMENT_LATENCY_MS and PAYMENT_DECLINE_RATE', () => {
    expect(readPaymentConfig({ PAYMENT_LATENCY_MS: '5', PAYMENT_DECLINE_RATE: '0.25' })).toEqual({ processor: { latencyMs: 5, declineRate: 0.25 } });
  });

  it('names the variable and the allowed range when a value is out of range', () => {
    expect(() => readPaymentConfig({ PAYMENT_DECLINE_RATE: '2' })).toThrow(EnvError);
    expect(() => readPaymentConfig({ PAYMENT_DECLINE_RATE: '2' })).toThrow(/PAYMENT_DECLINE_RATE.*from 0 to 1/);
    expect(() => readPaymentConfig({ PAYMENT_LATENCY_MS: 'slow' })).toThrow(/PAYMENT_LATENCY_MS.*from 0 to 60000/);
  });
});
