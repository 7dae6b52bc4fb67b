/**
 * The JSON shapes PikPak answers with (see shared/PIKPAK.md), as valibot schemas. A 2xx body that does
 * not match is not trusted: error-mapping turns it into TransientError('bad-response').
 * Unknown fields are dropped; nothing here is ever echoed into an error message except the
 * path of the field that failed.
 */
import * as v from 'valibot';

/** `{error, error_code, error_description}`; PikPak has been seen sending the code as a string. */
export const ErrorAnswer = v.object({
  error: v.optional(v.string()),
  error_code: v.optional(
    v.union([
      v.pipe(v.number(), v.integer()),
      v.pipe(v.string(), v.regex(/^-?\d{1,9}$/, 'expected a number'), v.transform(Number)),
    ]),
  ),
  error_description: v.optional(v.string()),
});
export type ErrorAnswer = v.InferOutput<typeof ErrorAnswer>;

const nonEmpty = v.pipe(v.string(), v.minLength(1));

/** Sign-in and refresh share this answer. `expires_in` is the only clock: tokens are opaque. */
export const TokenAnswer = v.object({
  token_type: nonEmpty,
  access_token: nonEmpty,
  refresh_token: nonEmpty,
  expires_in: v.pipe(v.number(), v.gtValue(0), v.finite()),
  sub: nonEmpty,
});
export type TokenAnswer = v.InferOutput<typeof TokenAnswer>;

function isWebUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Captcha init: either a token, or a challenge `url` for a human (then the token fields do not
 * matter). The url is shown to the user, so only http(s) pages are accepted.
 */
export const CaptchaInitAnswer = v.pipe(
  v.object({
    captcha_token: v.optional(v.string()),
    expires_in: v.optional(v.number()),
    url: v.optional(v.string()),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const answer = dataset.value;
    const at = (key: 'url' | 'captcha_token' | 'expires_in', message: string): void =>
      addIssue({
        message,
        path: [{ type: 'object', origin: 'value', input: answer, key, value: answer[key] }],
      });
    if (answer.url) {
      if (!isWebUrl(answer.url)) at('url', 'not an http(s) URL');
      return;
    }
    if (!answer.captcha_token) at('captcha_token', 'missing');
    if (answer.expires_in === undefined || !(answer.expires_in > 0) || !Number.isFinite(answer.expires_in))
      at('expires_in', 'missing or not positive');
  }),
);
export type CaptchaInitAnswer = v.InferOutput<typeof CaptchaInitAnswer>;

/** `GET /drive/v1/about`: any JSON object will do; the call only proves the token works. */
export const AboutAnswer = v.looseObject({});
export type AboutAnswer = v.InferOutput<typeof AboutAnswer>;
