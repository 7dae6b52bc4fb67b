/** Turns any failure into one clear line on stderr and the documented exit code. */
import { AccountError } from '../core/broker-errors.js';
import {
  IdentityExistsError,
  KeychainUnavailableError,
  LockHeldError,
  SecretStoreIdentityError,
  SecretStoreMismatchError,
  CorruptFileError,
} from '../core/errors/index.js';
import { KEYCHAIN_ALTERNATIVE } from '../runtime/open-secret-store.js';
import { ReauthRequiredError, SignedOutError, UpstreamUnavailableError } from '../core/keeper-errors.js';
import {
  CaptchaRequiredError,
  PikPakRejectedError,
  RateLimitedError,
  TransientError,
  PikPakError,
} from '../pikpak/errors/index.js';
import { BridgeAddressError } from '../bridge/errors.js';
import { InvalidListenAddressError, ListenerInUseError } from '../service/errors/index.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof AccountError) return EXIT.usage;
  // A flag's value the OS or the loopback rule refuses: the flag is what to change.
  if (
    error instanceof InvalidListenAddressError ||
    error instanceof BridgeAddressError ||
    error instanceof ListenerInUseError
  )
    return EXIT.usage;
  if (error instanceof ReauthRequiredError || error instanceof SignedOutError) return EXIT.reauthRequired;
  if (error instanceof CaptchaRequiredError || error instanceof PikPakRejectedError)
    return EXIT.pikpakRejected;
  if (
    error instanceof TransientError ||
    error instanceof RateLimitedError ||
    error instanceof UpstreamUnavailableError
  )
    return EXIT.upstreamUnavailable;
  if (error instanceof PikPakError) return EXIT.pikpakRejected;
  if (error instanceof KeychainUnavailableError || error instanceof SecretStoreIdentityError)
    return EXIT.keychainUnavailable;
  if (error instanceof CorruptFileError) return EXIT.settingsCorrupt;
  if (error instanceof SecretStoreMismatchError || error instanceof IdentityExistsError) return EXIT.usage;
  if (error instanceof LockHeldError) return EXIT.lockHeld;
  return EXIT.failure;
}

/** What to do when PikPak asks for a captcha challenge (CLI sign-in, with or without a daemon). */
export function captchaInstructions(url: string): string {
  return [
    'PikPak wants a human to solve a captcha before it lets this sign-in through.',
    `  1. Open this page in a browser and complete it: ${url}`,
    '  2. It ends on an address starting with xlaccsdk01://…; copy the value of captcha_token= from it.',
    '  3. Run the same login command again with --captcha-token <that value>.',
  ].join('\n');
}

export function messageFor(error: unknown): string {
  if (error instanceof CaptchaRequiredError) return captchaInstructions(error.url);
  if (error instanceof KeychainUnavailableError) return `${error.message}\n${KEYCHAIN_ALTERNATIVE}.`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): ExitCode {
  const code = exitCodeFor(error);
  stderr.write(`pikpak-token-broker: ${messageFor(error)}\n`);
  if (code === EXIT.failure && error instanceof Error && process.env.PIKPAK_BROKER_DEBUG)
    stderr.write(`${error.stack ?? ''}\n`);
  return code;
}
