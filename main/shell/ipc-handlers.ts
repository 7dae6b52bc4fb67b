/** Every IPC request, answered by the controller (the window that asked is known and allowed). */
import type { ShellController } from './controller.js';
import type { IpcHandlers } from './ipc-main.js';
import type { WindowKind } from './ipc-channels.js';

export function ipcHandlers(
  controller: ShellController,
  windows: { close(kind: WindowKind): void },
): IpcHandlers {
  return {
    getStatus: () => controller.status(),
    login: (_sender, form) => controller.login(form),
    solveCaptcha: (_sender, url) => controller.solveCaptcha(url),
    refreshNow: (_sender, account) => controller.refreshNow(account),
    openLogin: (_sender, account) => controller.openLogin(account),
    openClients: () => controller.openClients(),
    approveClient: (_sender, id) => controller.approve(id),
    denyClient: (_sender, id) => controller.deny(id),
    revokeClient: (_sender, name) => controller.revoke(name),
    copyAlistSetup: () => controller.copyAlistSetup(),
    setStartAtLogin: (_sender, enabled) => controller.setStartAtLogin(enabled),
    setNotifications: (_sender, enabled) => controller.setNotifications(enabled),
    closeWindow: (sender) => {
      windows.close(sender);
      return { ok: true, message: '' };
    },
  };
}
