import { createHash, timingSafeEqual } from 'node:crypto';

const REDACTED = '[redacted]';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A value that must never be printed: refresh tokens, passwords, client secrets, CA keys.
 * Redacted by construction: string conversion, JSON, util.inspect, template literals and
 * error messages all see `[redacted]`. The only way out is an explicit `reveal()`, which is
 * meant to be called at the very edge (the HTTP body sent to PikPak, the keychain write).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string') throw new TypeError('Secret expects a string');
    this.#value = value;
  }

  /** Wraps a possibly-absent value; empty strings count as absent. */
  static maybe(value: string | undefined | null): Secret | undefined {
    return value ? new Secret(value) : undefined;
  }

  reveal(): string {
    return this.#value;
  }

  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  /** Constant-time comparison (no early exit on the first differing byte). */
  equals(other: Secret | string): boolean {
    const a = createHash('sha256').update(this.#value).digest();
    const b = createHash('sha256')
      .update(typeof other === 'string' ? other : other.#value)
      .digest();
    return timingSafeEqual(a, b);
  }

  /**
   * A short, non-reversible label (first 8 hex digits of SHA-256) so logs and tests can tell
   * generations of a token apart without revealing it.
   */
  fingerprint(): string {
    return createHash('sha256').update(this.#value).digest('hex').slice(0, 8);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return `Secret(${REDACTED})`;
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
