// scrypt password hashes: self-describing format, salted, verified in constant time.
import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './password-hasher';

const hasher = new PasswordHasher({ N: 1024, r: 8, p: 1 });

describe('PasswordHasher', () => {
  it('stores scrypt$N$r$p$salt$hash with a 16-byte salt', async () => {
    const stored = await hasher.hash('correct horse');
    const parts = stored.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '1024', '8', '1']);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64url')).toHaveLength(32);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const stored = await hasher.hash('correct horse');
    expect(await hasher.verify('correct horse', stored)).toBe(true);
    expect(await hasher.verify('correct horsE', stored)).toBe(false);
  });

  it('salts each hash, so equal passwords hash differently', async () => {
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('verifies a hash made with another cost by reading the cost from the hash', async () => {
    const stored = await new PasswordHasher({ N: 2048, r: 4, p: 2 }).hash('correct horse');
    expect(await hasher.verify('correct horse', stored)).toBe(true);
  });

  it('treats a malformed stored hash as a mismatch', async () => {
    expect(await hasher.verify('x', 'bcrypt$whatever')).toBe(false);
    expect(await hasher.verify('x', 'scrypt$0$8$1$AAAA$AAAA')).toBe(false);
  });

  it('burns the same work for unknown users and always says no', async () => {
    expect(await hasher.burn('anything')).toBe(false);
  });
});
