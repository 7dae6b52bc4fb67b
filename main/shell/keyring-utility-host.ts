/**
 * The desktop app's keychain host process, started with Electron's `utilityProcess.fork`. The
 * packaged app has the RunAsNode fuse off (electron-builder.yml), so `child_process.fork` of its
 * own binary cannot run Node; a utility process can, with a fd table of its own (Chromium closes
 * every descriptor it does not map), which is what keeps libdbus clear of descriptors >= 1024.
 *
 * The host script is the same keyring-host.js the daemon forks, loaded from inside app.asar:
 * utility processes read the asar like the main process, and @napi-rs/keyring's JavaScript
 * stays there too (only its .node file is unpacked), so an unpacked copy of the script could
 * not resolve it.
 */
import {
  keyringHostEntry,
  type KeyringHostEntry,
  type KeyringHostProcess,
  type KeyringHostSpawner,
} from '../storage/keyring-host-client.js';
import type { KeyringHostReply } from '../storage/keyring-host-protocol.js';
import type { UtilityProcessModule } from './electron-types.js';

export function utilityKeyringHostSpawner(
  utilityProcess: UtilityProcessModule,
  entry: KeyringHostEntry = keyringHostEntry(),
): KeyringHostSpawner {
  return () => {
    const child = utilityProcess.fork(entry.script, [], {
      execArgv: entry.execArgv,
      stdio: 'ignore',
      serviceName: 'PikPak Token Broker keychain',
    });
    const host: KeyringHostProcess = {
      postMessage: (message) => child.postMessage(message),
      on(event: 'message' | 'error' | 'exit', listener: (value: never) => void) {
        if (event === 'message')
          child.on('message', (m) => (listener as (r: KeyringHostReply) => void)(m as KeyringHostReply));
        else if (event === 'exit') child.on('exit', listener as (code: number) => void);
        else
          child.on('error', (type, location) =>
            (listener as (e: Error) => void)(
              new Error(`the keychain host process failed (${type} at ${location})`),
            ),
          );
        return host;
      },
      // SIGTERM on POSIX: the default action ends a process blocked in a D-Bus call as well.
      kill: () => void child.kill(),
      // A utility process never keeps the app running: the app ends on app.quit().
      unref: () => undefined,
    };
    return host;
  };
}
