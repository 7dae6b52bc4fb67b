/**
 * The keeper's AuthProvider port (main/core/ports.ts) on top of PikPakClient: a refresh is a
 * refresh; a sign-in is AList's sign-in (captcha init, then sign-in), or a plain sign-in with the
 * captcha token a human solved on PikPak's challenge page.
 */
import type { AuthProvider } from '../core/ports.js';
import type { PikPakClient } from './client.js';

export function toAuthProvider(client: PikPakClient): AuthProvider {
  return {
    refresh: (input) => client.refresh(input),
    signIn: (input) =>
      client.signInWithCaptcha({
        platform: input.platform,
        username: input.username,
        password: input.password,
        deviceId: input.deviceId,
        ...(input.captchaToken ? { captchaToken: input.captchaToken } : {}),
      }),
  };
}
