/**
 * PikPak's "shield": captcha init (meta validation, captcha_sign check), captcha tokens bound to
 * (device_id, action) with an expiry, and the human challenge that ends in a redirect to
 * `xlaccsdk01://…?captcha_token=…`.
 */
import {
  CAPTCHA_REDIRECT_URI,
  captchaAction,
  captchaSign,
  type PlatformPreset,
} from '../../main/pikpak/protocol.js';
import { randomToken } from './tokens.js';

export const CAPTCHA_TTL_SECONDS = 300;

interface CaptchaGrant {
  deviceId: string;
  action: string;
  /** The email / phone number / username the token was asked for (sign-in meta only). */
  identity?: string;
}

interface CaptchaRecord extends CaptchaGrant {
  expiresAt: number;
}

interface Challenge extends CaptchaGrant {
  redirectUri: string;
  expiresAt: number;
}

export type MetaCheck =
  { ok: true; identity?: string } | { ok: false; error: 'bad-sign' | 'bad-meta'; detail: string };

export type CaptchaCheck = { ok: true; deviceId: string } | { ok: false; why: string };

/** `POST:/v1/auth/signin` from either `POST:/v1/auth/signin` or `POST:https://host/v1/auth/signin`. */
export function normalizeAction(action: string): string | undefined {
  const match = /^([A-Za-z]+):(.+)$/.exec(action.trim());
  if (!match) return undefined;
  try {
    return captchaAction(match[1]!, match[2]!);
  } catch {
    return undefined;
  }
}

/**
 * Before sign-in, meta names the user (`email`, `phone_number` or `username`); after sign-in it
 * proves the client: `captcha_sign` must be protocol.captchaSign for the client's preset, the
 * device id and the timestamp, with the preset's own client_version and package_name.
 */
export function checkMeta(preset: PlatformPreset, deviceId: string, meta: unknown): MetaCheck {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return { ok: false, error: 'bad-meta', detail: 'meta must be an object' };
  }
  const m = meta as Record<string, unknown>;
  if ('captcha_sign' in m) {
    const timestamp = m['timestamp'];
    const sign = m['captcha_sign'];
    if (typeof timestamp !== 'string' || !/^\d+$/.test(timestamp) || typeof sign !== 'string') {
      return { ok: false, error: 'bad-meta', detail: 'meta.timestamp and meta.captcha_sign are required' };
    }
    if (m['client_version'] !== preset.clientVersion || m['package_name'] !== preset.packageName) {
      return {
        ok: false,
        error: 'bad-sign',
        detail: 'client_version or package_name does not match client_id',
      };
    }
    if (sign !== captchaSign(preset, deviceId, timestamp)) {
      return { ok: false, error: 'bad-sign', detail: 'captcha_sign mismatch' };
    }
    return { ok: true };
  }
  for (const key of ['email', 'phone_number', 'username'] as const) {
    const value = m[key];
    if (typeof value === 'string' && value !== '') return { ok: true, identity: value };
  }
  return { ok: false, error: 'bad-meta', detail: 'meta needs email, phone_number, username or captcha_sign' };
}

export interface CaptchaAuthorityDeps {
  now: () => number;
  random: (bytes: number) => Buffer;
}

const SWEEP_EVERY = 500;

export class CaptchaAuthority {
  readonly #deps: CaptchaAuthorityDeps;
  readonly #tokens = new Map<string, CaptchaRecord>();
  readonly #challenges = new Map<string, Challenge>();
  #issued = 0;

  constructor(deps: CaptchaAuthorityDeps) {
    this.#deps = deps;
  }

  issue(grant: CaptchaGrant): { captchaToken: string; expiresIn: number } {
    const now = this.#deps.now();
    let token = randomToken(this.#deps.random, 'ck0.', 48);
    for (let n = 1; this.#tokens.has(token); n++)
      token = `${randomToken(this.#deps.random, 'ck0.', 48)}.${n}`;
    this.#tokens.set(token, { ...grant, expiresAt: now + CAPTCHA_TTL_SECONDS * 1000 });
    if (++this.#issued % SWEEP_EVERY === 0) this.#sweep(now);
    return { captchaToken: token, expiresIn: CAPTCHA_TTL_SECONDS };
  }

  /**
   * A captcha token is good for its action until it expires (it is not single-use: AList keeps
   * using one). When the request names a device (X-Device-ID) or a user, they must match too.
   */
  check(
    token: string | undefined,
    action: string,
    expect: { deviceId?: string; identity?: string },
  ): CaptchaCheck {
    if (!token) return { ok: false, why: 'captcha_token is required' };
    const record = this.#tokens.get(token);
    if (!record) return { ok: false, why: 'unknown captcha_token' };
    if (this.#deps.now() >= record.expiresAt) return { ok: false, why: 'captcha_token expired' };
    if (record.action !== action) return { ok: false, why: `captcha_token was issued for ${record.action}` };
    if (expect.deviceId && expect.deviceId !== record.deviceId) {
      return { ok: false, why: 'captcha_token was issued for another device' };
    }
    if (
      record.identity !== undefined &&
      expect.identity !== undefined &&
      record.identity !== expect.identity
    ) {
      return { ok: false, why: 'captcha_token was issued for another user' };
    }
    return { ok: true, deviceId: record.deviceId };
  }

  /** Opens a challenge a human must complete; returns its id. */
  openChallenge(grant: CaptchaGrant, redirectUri: string | undefined): string {
    const id = randomToken(this.#deps.random, 'ch.', 16);
    this.#challenges.set(id, {
      ...grant,
      redirectUri: redirectUri || CAPTCHA_REDIRECT_URI,
      expiresAt: this.#deps.now() + CAPTCHA_TTL_SECONDS * 1000,
    });
    return id;
  }

  describeChallenge(id: string): { action: string; deviceId: string; identity?: string } | undefined {
    const challenge = this.#live(id);
    if (!challenge) return undefined;
    return {
      action: challenge.action,
      deviceId: challenge.deviceId,
      ...(challenge.identity === undefined ? {} : { identity: challenge.identity }),
    };
  }

  /** Completes a challenge (once): a fresh captcha token and the redirect that carries it. */
  solveChallenge(id: string): { captchaToken: string; expiresIn: number; redirect: string } | undefined {
    const challenge = this.#live(id);
    if (!challenge) return undefined;
    this.#challenges.delete(id);
    const { redirectUri, expiresAt: _expiresAt, ...grant } = challenge;
    const issued = this.issue(grant);
    const separator = redirectUri.includes('?') ? '&' : '?';
    const redirect = `${redirectUri}${separator}captcha_token=${encodeURIComponent(issued.captchaToken)}`;
    return { ...issued, redirect };
  }

  #live(id: string): Challenge | undefined {
    const challenge = this.#challenges.get(id);
    if (!challenge) return undefined;
    if (this.#deps.now() >= challenge.expiresAt) {
      this.#challenges.delete(id);
      return undefined;
    }
    return challenge;
  }

  #sweep(now: number): void {
    for (const [token, record] of this.#tokens) if (now >= record.expiresAt) this.#tokens.delete(token);
    for (const [id, challenge] of this.#challenges)
      if (now >= challenge.expiresAt) this.#challenges.delete(id);
  }
}
