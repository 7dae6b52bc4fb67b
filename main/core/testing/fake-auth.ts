/**
 * An in-memory PikPak for keeper tests: strict single-use refresh tokens, like the emulator,
 * plus a queue of scripted failures and a gate that holds answers back (to widen race windows).
 */
import { InvalidGrantError, PikPakRejectedError } from '../../pikpak/errors/index.js';
import { INVALID_GRANT_DESCRIPTION, type Platform } from '../../pikpak/protocol.js';
import type { AuthProvider, SignInInput, TokenGrant } from '../ports.js';
import { Secret } from '../secret.js';

export class FakeAuth implements AuthProvider {
  accessTtlSec = 3600;
  refreshCalls = 0;
  signInCalls = 0;
  /**
   * Refresh tokens ever issued, in order; `used` marks single use, `presentations` counts the
   * refreshes PikPak handled with it (a scripted failure strikes before PikPak sees the call).
   */
  readonly issued: { token: string; used: boolean; presentations: number }[] = [];
  /** Errors to throw from the next calls, in order (then calls succeed again). */
  readonly failures: { refresh: unknown[]; signIn: unknown[] } = { refresh: [], signIn: [] };
  /**
   * The next this-many refreshes are handled (the token rotates) and then the answer is lost: the
   * call throws this error instead (a timeout after PikPak acted).
   */
  lostAnswers: { count: number; error: unknown } = { count: 0, error: undefined };
  /** When set, refresh answers wait for `release()`. */
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  readonly passwords = new Map<string, string>([['user@example.com', 'right-password']]);
  #seq = 0;

  /** Issues a refresh token as if the user had signed in elsewhere. */
  mint(): Secret {
    const token = `rt-${++this.#seq}`;
    this.issued.push({ token, used: false, presentations: 0 });
    return new Secret(token);
  }

  hold(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#gate = { promise, open };
  }

  release(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }

  get invalidGrantCount(): number {
    return this.#invalidGrants;
  }
  #invalidGrants = 0;

  async refresh(input: { platform: Platform; refreshToken: Secret }): Promise<TokenGrant> {
    this.refreshCalls += 1;
    if (this.#gate) await this.#gate.promise;
    const failure = this.failures.refresh.shift();
    if (failure) throw failure;
    const entry = this.issued.find((e) => e.token === input.refreshToken.reveal());
    if (entry) entry.presentations += 1;
    if (!entry || entry.used) {
      this.#invalidGrants += 1;
      throw new InvalidGrantError(`PikPak rejected the refresh token (4126): ${INVALID_GRANT_DESCRIPTION}`, {
        pikpakCode: 4126,
        httpStatus: 400,
      });
    }
    entry.used = true;
    const grant = this.#grant();
    if (this.lostAnswers.count > 0) {
      this.lostAnswers.count -= 1;
      throw this.lostAnswers.error;
    }
    return grant;
  }

  async signIn(input: SignInInput): Promise<TokenGrant> {
    this.signInCalls += 1;
    const failure = this.failures.signIn.shift();
    if (failure) throw failure;
    if (this.passwords.get(input.username) !== input.password.reveal())
      throw new PikPakRejectedError(
        'invalid_account_or_password',
        'PikPak rejected the sign-in: wrong password',
        {
          pikpakCode: 4002,
          httpStatus: 400,
        },
      );
    return this.#grant();
  }

  #grant(): TokenGrant {
    const n = ++this.#seq;
    const refreshToken = `rt-${n}`;
    this.issued.push({ token: refreshToken, used: false, presentations: 0 });
    return {
      accessToken: new Secret(`at-${n}`),
      refreshToken: new Secret(refreshToken),
      tokenType: 'Bearer',
      expiresInSec: this.accessTtlSec,
      userId: 'user-1',
    };
  }
}
