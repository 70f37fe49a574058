// Password hashing with scrypt, stored self-describing so the cost can change without breaking old hashes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  // Node refuses N*r above its 32 MiB default; allow what the chosen cost needs.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly cost: ScryptCost = DEFAULT_SCRYPT_COST) {}

  /** `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, this.cost);
    const { N, r, p } = this.cost;
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /** Uses the cost stored in the hash, so hashes made with an older cost still verify. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
    const salt = Buffer.from(parts[4]!, 'base64url');
    const expected = Buffer.from(parts[5]!, 'base64url');
    if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || expected.length !== KEY_LENGTH) return false;
    const actual = await derive(password, salt, { N, r, p });
    return timingSafeEqual(actual, expected);
  }

  /**
   * Spends the same scrypt work as a real check, for logins with an unknown email: otherwise the
   * response time would tell an attacker which emails have accounts.
   */
  async burn(password: string): Promise<false> {
    this.dummyHash ??= this.hash('not-a-real-password');
    await this.verify(password, await this.dummyHash);
    return false;
  }
}
