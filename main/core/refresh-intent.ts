/**
 * The refresh intent's states (RefreshIntentState in ports.ts): what a failed refresh call proves
 * about the token it carried, what a restart does with a token an intent names, and the words for
 * it. The rule is "after a restart, do what the same run would have done":
 *
 * | state on disk        | what it proves                        | the same run would…      | a restart…                     |
 * |----------------------|---------------------------------------|--------------------------|--------------------------------|
 * | (no intent)          | the keychain's token is the newest    | use it                   | uses it                        |
 * | `not-sent`           | PikPak never saw the call             | retry with the same token | uses it                        |
 * | `answered-transient` | PikPak answered, granted nothing      | retry with the same token | uses it                        |
 * | `outcome-unknown`    | the run saw the answer get lost       | retry with the same token | uses it (invalid_grant → rule 4) |
 * | `in-flight`          | the run died mid-call: no evidence    | (it died)                | never sends it: sign-in        |
 * | `rotated-unsaved`    | spent; the newest was in memory only  | use the one in memory    | never sends it: sign-in        |
 *
 * `outcome-unknown` and `in-flight` both mean "sent, no answer": the difference is evidence. A
 * run that recorded a timeout saw PikPak fail to answer, and PikPak usually does not act on a
 * request it never answered; the run retries, and if PikPak did rotate, invalid_grant says so and
 * rule 4 applies. A run that died mid-call saw nothing: the crash most likely came after PikPak's
 * answer, which was then certainly a rotation, so the token is treated as spent — every refresh
 * token is presented at most once across crashes.
 */
import { PikPakError, TransientError } from '../pikpak/errors/index.js';
import type { RefreshIntentState } from './ports.js';

/** The intent's state after a refresh call failed with `error` (not invalid_grant). */
export function intentStateAfter(error: unknown): RefreshIntentState {
  if (error instanceof TransientError) {
    switch (error.delivery) {
      case 'not-sent':
        return 'not-sent';
      case 'answered':
        return 'answered-transient';
      case 'unknown':
        return 'outcome-unknown';
    }
  }
  // Any other typed error is PikPak's own error body (rate limiting, a rejection): an answer,
  // and PikPak rotates only on success. Anything untyped proves nothing.
  if (error instanceof PikPakError) return 'answered-transient';
  return 'outcome-unknown';
}

/** Why a restart must not send the token an intent names, or undefined when it may. */
export type SpentAfterRestart = 'crash' | 'unsaved';

export function spentAfterRestart(state: RefreshIntentState): SpentAfterRestart | undefined {
  switch (state) {
    case 'in-flight':
      return 'crash';
    case 'rotated-unsaved':
      return 'unsaved';
    case 'not-sent':
    case 'answered-transient':
    case 'outcome-unknown':
      return undefined;
  }
}

/** What the previous run left, in words (offline `status`, logs). */
export function describeIntentState(state: RefreshIntentState): string {
  switch (state) {
    case 'in-flight':
      return 'the last run stopped while a refresh call was in flight; PikPak may have rotated the token, so it will not be sent again (a sign-in replaces it)';
    case 'not-sent':
      return 'the last refresh call never reached PikPak (connection refused or no route); the stored token is unspent and will be used';
    case 'answered-transient':
      return 'PikPak answered the last refresh with a temporary error; the stored token is unspent and will be used';
    case 'outcome-unknown':
      return 'the last refresh got no answer (timeout or dropped connection); the next start retries with the same token, as the run would have';
    case 'rotated-unsaved':
      return 'the newest refresh token was only in memory because the keychain was locked or unavailable when the broker stopped; the stored one is spent, so a sign-in is needed';
  }
}
