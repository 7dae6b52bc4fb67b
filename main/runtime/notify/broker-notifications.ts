/**
 * Which broker events a headless user is told about: an account entering reauth-required, the
 * same account healthy again after that or after an error (no valid token while PikPak failed)
 * ("recovered"), and the secret store becoming unavailable (and available again, "recovered"
 * with no account).
 */
import type { AccountStateEvent, Broker } from '../../core/broker.js';
import type { VaultStatus } from '../../core/vault.js';
import type { NotifyEvent } from './notify-command.js';

export function watchBrokerForNotifications(
  broker: Pick<Broker, 'on' | 'off'>,
  notify: (event: NotifyEvent) => void,
): () => void {
  /** Accounts (and '' for the store) in trouble, with what the trouble was, until healthy again. */
  const troubled = new Map<string, string>();
  const onState = ({ account, state, previous, health }: AccountStateEvent): void => {
    if (state.type === 'reauth-required') {
      if (previous.type === 'reauth-required') return;
      troubled.set(account, 'it needed a new sign-in');
      notify({
        event: 'reauth-required',
        account,
        message: `PikPak account "${account}" needs a new sign-in: ${state.message} Run: pikpak-token-broker login --account ${account}`,
      });
    } else if (health === 'error' && !troubled.has(account)) {
      // No access token and PikPak failing: not announced (it often passes), but its end is.
      troubled.set(account, 'PikPak could not be reached and no access token was valid');
    } else if (state.type === 'healthy' && troubled.has(account)) {
      const after = troubled.get(account);
      troubled.delete(account);
      notify({
        event: 'recovered',
        account,
        message: `PikPak account "${account}" is healthy again (${after}).`,
      });
    }
  };
  const onStore = (status: VaultStatus): void => {
    if (!status.available && !troubled.has('')) {
      troubled.set('', 'the secret store was unavailable');
      notify({
        event: 'secret-store-unavailable',
        account: '',
        message: `The broker's secret store is unavailable: ${status.problem ?? 'no reason given'}. New tokens are kept in memory only until it is back.`,
      });
    } else if (status.available && troubled.delete('')) {
      notify({ event: 'recovered', account: '', message: "The broker's secret store is available again." });
    }
  };
  broker.on('account-state', onState);
  broker.on('keychain-status', onStore);
  return () => {
    broker.off('account-state', onState);
    broker.off('keychain-status', onStore);
  };
}
