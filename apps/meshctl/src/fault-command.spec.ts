import { describe, expect, it } from 'vitest';
import { parseFault, serviceName } from './fault-command';

describe('meshctl fault arguments', () => {
  it('builds an abort, a delay, or both, on the named service', () => {
    expect(parseFault(['--service', 'product', '--abort', '503', '--percent', '50'])).toEqual({
      service: 'product-service',
      fault: { abort: { httpStatus: 503, percent: 50 } },
    });
    expect(parseFault(['--service', 'payment-service', '--delay-ms', '100', '--percent', '25', '--header', 'x-drill=on'])).toEqual({
      service: 'payment-service',
      fault: { delay: { fixedDelayMs: 100, percent: 25 }, headers: { 'x-drill': 'on' } },
    });
  });

  it('says which flag is wrong and what is allowed', () => {
    expect(() => parseFault(['--abort', '503'])).toThrow('--service is required');
    expect(() => parseFault(['--service', 'product'])).toThrow('give --abort STATUS or --delay-ms MS');
    expect(() => parseFault(['--service', 'product', '--abort', '503', '--percent', '150'])).toThrow(
      '--percent must be a number from 0 to 100, not "150"',
    );
    expect(() => parseFault(['--service', 'product', '--abort', '99'])).toThrow('--abort must be a number from 200 to 599');
  });

  it('expands short service names', () => {
    expect(serviceName('order')).toBe('order-service');
    expect(serviceName('order-service')).toBe('order-service');
  });
});
