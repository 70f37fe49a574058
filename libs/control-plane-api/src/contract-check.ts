// A compiled check of what crossed the API against its schema: a reader never acts on what it cannot read, and says why.
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export class ContractCheck<T extends TSchema> {
  private readonly compiled: TypeCheck<T>;

  constructor(readonly schema: T) {
    this.compiled = TypeCompiler.Compile(schema);
  }

  matches(value: unknown): value is Static<T> {
    return this.compiled.Check(value);
  }

  /** The first field that does not match and why, e.g. `/resources/mtls/mode: Expected union value`. */
  problem(value: unknown): string | undefined {
    const error = this.compiled.Errors(value).First();
    return error && `${error.path || '/'}: ${error.message}`;
  }

  /** The value as its schema's type, or an error naming `what` and the first field that does not match. */
  verify(value: unknown, what: string): Static<T> {
    if (this.matches(value)) return value;
    throw new Error(`${what} does not match the control-plane API: ${this.problem(value)}`);
  }
}
