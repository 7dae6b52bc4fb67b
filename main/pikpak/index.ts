/**
 * The PikPak provider's public surface. Nothing outside main/pikpak/ imports axios: callers see
 * PikPakClient, Secrets and the typed errors below.
 */
export {
  PikPakClient,
  type PikPakClientOptions,
  type TokenSet,
  type CaptchaGrant,
  type CaptchaInitParams,
  type CaptchaForSigninParams,
  type CaptchaAfterSigninParams,
  type SignInParams,
  type SignInWithCaptchaParams,
  type RefreshParams,
  type CheckAccessTokenParams,
} from './client.js';
export { toAuthProvider } from './auth-provider.js';
export * from './errors/index.js';
export {
  PLATFORMS,
  PRESETS,
  PATHS,
  AUTH_HOSTS,
  DRIVE_HOSTS,
  DEFAULT_AUTH_BASE_URL,
  DEFAULT_DRIVE_BASE_URL,
  ERROR_CODES,
  isPlatform,
  captchaAction,
  defaultDeviceId,
  type Platform,
  type PlatformPreset,
} from './protocol.js';
