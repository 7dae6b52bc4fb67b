import { PikPakError } from './pikpak-error.js';

/**
 * PikPak wants a human to solve a challenge in a browser before it issues a captcha token.
 * `url` is the page to show; it ends by redirecting to `xlaccsdk01://…?captcha_token=…`.
 */
export class CaptchaRequiredError extends PikPakError {
  readonly code = 'captcha_required';
  readonly retryable = false;
  readonly url: string;

  constructor(url: string, options: { pikpakCode?: number; httpStatus?: number } = {}) {
    super('PikPak asks for a captcha challenge to be solved in a browser', options);
    this.url = url;
  }
}
