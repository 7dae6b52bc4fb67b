export { PikPakError } from './pikpak-error.js';
export { InvalidGrantError } from './invalid-grant-error.js';
export { AccessTokenExpiredError } from './access-token-expired-error.js';
export { CaptchaRequiredError } from './captcha-required-error.js';
export { CaptchaExpiredError } from './captcha-expired-error.js';
export { RateLimitedError } from './rate-limited-error.js';
export { TransientError, type TransientDelivery, type TransientReason } from './transient-error.js';
export { PikPakRejectedError } from './rejected-error.js';
