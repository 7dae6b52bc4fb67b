/**
 * Core events to the tray, the notifications and the windows. Bursts of changes (a refresh emits
 * several events in one tick) are coalesced into one update.
 */
import type { AppSettingsStore } from './app-settings.js';
import type { ShellController } from './controller.js';
import type { StatusView } from './ipc-channels.js';
import type { Notifier } from './notifier.js';
import type { TrayService } from './tray-service.js';

export interface WiringDeps {
  readonly controller: ShellController;
  readonly tray: TrayService;
  readonly notifier: Notifier;
  readonly windows: { broadcast(event: 'onStatus', payload: StatusView): void };
  readonly settings: AppSettingsStore;
  readonly now: () => number;
  /** How an update is deferred to the end of the current burst (setImmediate by default). */
  readonly defer?: (fn: () => void) => void;
}

export function wireShell(deps: WiringDeps): { update(): void } {
  const { controller, tray, notifier, windows, settings } = deps;
  const defer = deps.defer ?? ((fn: () => void) => void setImmediate(fn));

  const update = (): void => {
    tray.setCore(controller.coreState);
    tray.setAccounts(controller.trayAccounts(), deps.now());
    tray.setRequests(controller.pendingRequests());
    tray.setStartAtLogin(settings.get().startAtLogin);
    windows.broadcast('onStatus', controller.status());
  };

  let scheduled = false;
  controller.on('changed', () => {
    if (scheduled) return;
    scheduled = true;
    defer(() => {
      scheduled = false;
      update();
    });
  });
  controller.on('transition', (event) => {
    if (settings.account(event.account).notify) notifier.onTransition(event);
    if (event.state.type === 'signed-out') notifier.forget(event.account);
  });
  update();
  return { update };
}
