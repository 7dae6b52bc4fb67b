/**
 * A deliberately plain PikPak client over node:http(s), for the emulator's own tests (and any
 * test that needs to drive the emulator by hand). It sends what AList sends: JSON bodies with
 * `?client_id=` on auth calls, or form bodies like golang.org/x/oauth2 does for /v1/auth/token.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readResponse } from '../../main/service/testing/read-response.js';

import {
  PATHS,
  signedMeta,
  signinMeta,
  type PlatformPreset,
  type TokenResponseBody,
} from '../../main/pikpak/protocol.js';

export interface CallOptions {
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Sent as is. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** HTTPS: CA to trust and SNI name. */
  ca?: string;
  servername?: string;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export function call(url: string, options: CallOptions = {}): Promise<CallResult> {
  const target = new URL(url);
  let body: Buffer | undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (options.json !== undefined) {
    body = Buffer.from(JSON.stringify(options.json));
    headers['content-type'] ??= 'application/json';
  } else if (options.form) {
    body = Buffer.from(new URLSearchParams(options.form).toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (options.raw !== undefined) {
    body = Buffer.from(options.raw);
  }
  if (body) headers['content-length'] = String(body.length);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        headers,
        agent: false,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.servername ? { servername: options.servername } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => void readResponse(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface CaptchaAnswer {
  captcha_token: string;
  expires_in: number;
  url: string;
}

/** AList's captcha init before sign-in (meta names the user). */
export function captchaInitForSignin(
  base: string,
  preset: PlatformPreset,
  username: string,
  deviceId: string,
  extra: CallOptions = {},
): Promise<CallResult> {
  return call(`${base}${PATHS.captchaInit}?client_id=${preset.clientId}`, {
    ...extra,
    json: {
      action: `POST:${PATHS.signin}`,
      captcha_token: '',
      client_id: preset.clientId,
      device_id: deviceId,
      meta: signinMeta(username),
      redirect_uri: 'xlaccsdk01://xbase.cloud/callback?state=harbor',
    },
  });
}

/** AList's captcha init after sign-in (meta carries captcha_sign). */
export function captchaInitSigned(
  base: string,
  preset: PlatformPreset,
  deviceId: string,
  userId: string,
  action = `GET:${PATHS.files}`,
  timestampMs = Date.now(),
): Promise<CallResult> {
  return call(`${base}${PATHS.captchaInit}?client_id=${preset.clientId}`, {
    json: {
      action,
      captcha_token: '',
      client_id: preset.clientId,
      device_id: deviceId,
      meta: signedMeta(preset, deviceId, userId, timestampMs),
      redirect_uri: 'xlaccsdk01://xbase.cloud/callback?state=harbor',
    },
  });
}

export function signinRequest(
  base: string,
  preset: PlatformPreset,
  username: string,
  password: string,
  captchaToken: string,
  extra: CallOptions = {},
): Promise<CallResult> {
  return call(`${base}${PATHS.signin}?client_id=${preset.clientId}`, {
    ...extra,
    json: {
      captcha_token: captchaToken,
      client_id: preset.clientId,
      client_secret: preset.clientSecret,
      username,
      password,
    },
  });
}

/** Captcha init + sign-in; throws unless both succeed. */
export async function signIn(
  base: string,
  preset: PlatformPreset,
  username: string,
  password: string,
  deviceId = 'device-0001',
): Promise<TokenResponseBody> {
  const captcha = await captchaInitForSignin(base, preset, username, deviceId);
  if (captcha.status !== 200) throw new Error(`captcha init: ${captcha.status} ${captcha.text}`);
  const token = (captcha.json as CaptchaAnswer).captcha_token;
  const answer = await signinRequest(base, preset, username, password, token);
  if (answer.status !== 200) throw new Error(`signin: ${answer.status} ${answer.text}`);
  return answer.json as TokenResponseBody;
}

/** /v1/auth/token as AList's `http` method sends it (JSON + ?client_id=), or as x/oauth2 does (form). */
export function refreshRequest(
  base: string,
  preset: PlatformPreset,
  refreshToken: string,
  options: { form?: boolean; clientSecret?: string; signal?: AbortSignal } = {},
): Promise<CallResult> {
  const fields = {
    client_id: preset.clientId,
    client_secret: options.clientSecret ?? preset.clientSecret,
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  };
  const signal = options.signal ? { signal: options.signal } : {};
  return options.form
    ? call(`${base}${PATHS.token}`, { form: fields, ...signal })
    : call(`${base}${PATHS.token}?client_id=${preset.clientId}`, { json: fields, ...signal });
}

export function bearer(accessToken: string): Record<string, string> {
  return { authorization: `Bearer ${accessToken}` };
}
