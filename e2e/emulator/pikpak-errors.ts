/**
 * The error answers the emulator gives, in PikPak's shape `{error, error_code, error_description}`.
 *
 * Where they come from (PikPak publishes nothing; see shared/PIKPAK.md):
 * - 4126 invalid_grant and its description: PIKPAK.md, verbatim (protocol.ts).
 * - 4022 invalid_account_or_password, 4002 captcha_invalid, 16 unauthenticated, 3 invalid_argument,
 *   5 not_found: the error-code table of a third-party PikPak client (stremthru) built from real
 *   answers; PikPak's small codes follow gRPC's status codes (3 INVALID_ARGUMENT, 5 NOT_FOUND,
 *   10 ABORTED, 16 UNAUTHENTICATED).
 * - 9 captcha_invalid for a missing or expired captcha token: PIKPAK.md ("9 = captcha token
 *   expired", what AList reacts to). Real PikPak was also seen answering sign-in with
 *   `4002 captcha_invalid "Code(4002) - captcha_token expired"`; the emulator uses 9 (the contract).
 * - 10 for rate limiting: PIKPAK.md ("操作频繁"); error name "aborted" because 10 is gRPC's ABORTED
 *   and real answers read "Aborted - Your operation is too frequent". HTTP 429, which PikPak is
 *   reported to answer when throttling (OpenList#229), and which resty/axios treat as an error.
 * - invalid_client (client_id / client_secret unknown or not a pair) and 4012: our choice, no real
 *   sample found; OAuth's name for the case.
 */
import {
  ERROR_CODES,
  INVALID_GRANT_DESCRIPTION,
  type ErrorResponseBody,
} from '../../main/pikpak/protocol.js';

export interface ErrorReply {
  status: number;
  body: ErrorResponseBody;
}

function reply(status: number, error: string, code: number, description: string): ErrorReply {
  return { status, body: { error, error_code: code, error_description: description } };
}

/** Codes the emulator uses beyond protocol.ts's ERROR_CODES (documented above). */
export const EMULATOR_ERROR_CODES = {
  invalidArgument: 3,
  notFound: 5,
  captchaSignInvalid: 4002,
  invalidClient: 4012,
  invalidAccountOrPassword: 4022,
} as const;

export const errors = {
  /** A used, revoked, unknown or other-client refresh token. Exactly PIKPAK.md's body. */
  invalidGrant: (): ErrorReply =>
    reply(400, 'invalid_grant', ERROR_CODES.invalidGrant, INVALID_GRANT_DESCRIPTION),

  invalidAccountOrPassword: (): ErrorReply =>
    reply(
      400,
      'invalid_account_or_password',
      EMULATOR_ERROR_CODES.invalidAccountOrPassword,
      'Invalid username or password',
    ),

  /** Sign-in without a valid captcha token for its action (missing, unknown, expired, other action). */
  captchaInvalid: (why: string): ErrorReply =>
    reply(400, 'captcha_invalid', ERROR_CODES.captchaExpired, `Verification code is invalid: ${why}`),

  /** Captcha init whose meta.captcha_sign does not match the client's salts (a wrong preset). */
  captchaSignInvalid: (): ErrorReply =>
    reply(
      400,
      'captcha_invalid',
      EMULATOR_ERROR_CODES.captchaSignInvalid,
      'Code(4002) - captcha_sign invalid',
    ),

  invalidClient: (): ErrorReply =>
    reply(400, 'invalid_client', EMULATOR_ERROR_CODES.invalidClient, 'client_id or client_secret is invalid'),

  invalidArgument: (what: string): ErrorReply =>
    reply(400, 'invalid_argument', EMULATOR_ERROR_CODES.invalidArgument, what),

  unsupportedGrantType: (): ErrorReply =>
    reply(
      400,
      'unsupported_grant_type',
      EMULATOR_ERROR_CODES.invalidArgument,
      'grant_type must be refresh_token',
    ),

  bodyTooLarge: (): ErrorReply =>
    reply(413, 'invalid_argument', EMULATOR_ERROR_CODES.invalidArgument, 'request body too large'),

  /** No `Authorization: Bearer …`, an unknown access token, or a revoked one. */
  unauthenticated: (): ErrorReply =>
    reply(401, 'unauthenticated', ERROR_CODES.accessTokenExpired, 'unauthenticated'),

  /** A known access token past its `expires_in`. */
  accessTokenExpired: (): ErrorReply =>
    reply(401, 'unauthenticated', ERROR_CODES.accessTokenExpired, 'unauthenticated: token is expired'),

  /** An Authorization header that is not `Bearer <token>`. */
  malformedAuthorization: (): ErrorReply =>
    reply(401, 'unauthenticated', ERROR_CODES.accessTokenInvalid2, 'invalid authorization header'),

  rateLimited: (): ErrorReply =>
    reply(
      429,
      'aborted',
      ERROR_CODES.rateLimited,
      '操作频繁，请稍后再试 (Your operation is too frequent, please try again later)',
    ),

  notFound: (): ErrorReply => reply(404, 'not_found', EMULATOR_ERROR_CODES.notFound, 'not found'),

  methodNotAllowed: (): ErrorReply =>
    reply(405, 'invalid_argument', EMULATOR_ERROR_CODES.invalidArgument, 'method not allowed'),
};
