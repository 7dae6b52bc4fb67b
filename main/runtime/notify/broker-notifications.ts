/**
 * Which broker events a headless user is told about: an account entering reauth-required, the
 * same account healthy again afterwards ("recovered"), and the secret store becoming unavailable
 * (and available again, "recovered" with no account).
 */
import type { AccountStateEvent, Broker } from '../../core/broker.js';
import type { VaultStatus } from '../../core/vault.js';
import type { NotifyEvent } from './notify-command.js';

export function watchBrokerForNotifications(
  broker: Pick<Broker, 'on' | 'off'>,
  notify: (event: NotifyEvent) => void,
): () => void {
  /** Accounts (and '' for the store) whose problem was announced and not yet resolved. */
  const troubled = new Set<string>();
  const onState = ({ account, state, previous }: AccountStateEvent): void => {
    if (state.type === 'reauth-required' && previous.type !== 'reauth-required') {
      troubled.add(account);
      notify({
        event: 'reauth-required',
        account,
        message: `PikPak account "${account}" needs a new sign-in: ${state.message} Run: pikpak-token-broker login --account ${account}`,
      });
    } else if (state.type === 'healthy' && troubled.delete(account)) {
      notify({ event: 'recovered', account, message: `PikPak account "${account}" is healthy again.` });
    }
  };
  const onStore = (status: VaultStatus): void => {
    if (!status.available && !troubled.has('')) {
      troubled.add('');
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
