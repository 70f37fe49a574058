import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import * as contracts from './index';

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);

describe('contracts', () => {
  it('every exported schema compiles', () => {
    const schemas = Object.entries(contracts).filter(([, v]) => typeof v === 'object' && v !== null && 'type' in v);
    expect(schemas.length).toBeGreaterThan(20);
    for (const [name, schema] of schemas) expect(() => ajv.compile(schema as object), name).not.toThrow();
  });

  it('registration needs an email, a password of 8+ characters and a name', () => {
    const check = ajv.compile(contracts.RegisterUserBody);
    expect(check({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' })).toBe(true);
    expect(check({ email: 'not-an-email', password: 'short', name: '' })).toBe(false);
    expect(check.errors?.map((e) => e.instancePath).sort()).toEqual(['/email', '/name', '/password']);
  });

  it('an order needs 1-50 lines of known shape with positive quantities', () => {
    const check = ajv.compile(contracts.PlaceOrderBody);
    expect(check({ items: [{ productId: 'p-001', quantity: 2 }] })).toBe(true);
    expect(check({ items: [] })).toBe(false);
    expect(check({ items: [{ productId: 'p-001', quantity: 0 }] })).toBe(false);
    expect(check({ items: [{ productId: 'p 1', quantity: 1 }] })).toBe(false);
  });
});
