/**
 * The JSON shapes PikPak answers with (see shared/PIKPAK.md), as zod schemas. A 2xx body that does
 * not match is not trusted: error-mapping turns it into TransientError('bad-response').
 * Unknown fields are dropped; nothing here is ever echoed into an error message except the
 * path of the field that failed.
 */
import { z } from 'zod';

/** `{error, error_code, error_description}`; PikPak has been seen sending the code as a string. */
export const ErrorAnswer = z.object({
  error: z.string().optional(),
  error_code: z
    .union([
      z.number().int(),
      z
        .string()
        .regex(/^-?\d{1,9}$/)
        .transform(Number),
    ])
    .optional(),
  error_description: z.string().optional(),
});
export type ErrorAnswer = z.output<typeof ErrorAnswer>;

/** Sign-in and refresh share this answer. `expires_in` is the only clock: tokens are opaque. */
export const TokenAnswer = z.object({
  token_type: z.string().min(1),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive().finite(),
  sub: z.string().min(1),
});
export type TokenAnswer = z.output<typeof TokenAnswer>;

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
export const CaptchaInitAnswer = z
  .object({
    captcha_token: z.string().optional(),
    expires_in: z.number().optional(),
    url: z.string().optional(),
  })
  .superRefine((answer, ctx) => {
    if (answer.url) {
      if (!isWebUrl(answer.url))
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'not an http(s) URL' });
      return;
    }
    if (!answer.captcha_token) ctx.addIssue({ code: 'custom', path: ['captcha_token'], message: 'missing' });
    if (answer.expires_in === undefined || !(answer.expires_in > 0) || !Number.isFinite(answer.expires_in))
      ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'missing or not positive' });
  });
export type CaptchaInitAnswer = z.output<typeof CaptchaInitAnswer>;

/** `GET /drive/v1/about`: any JSON object will do; the call only proves the token works. */
export const AboutAnswer = z.looseObject({});
export type AboutAnswer = z.output<typeof AboutAnswer>;
