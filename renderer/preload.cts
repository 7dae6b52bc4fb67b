/**
 * The pages' only way to the main process: `window.broker`, typed `BrokerApi`
 * (main/shell/ipc-channels.ts), built from the calls this window may make.
 *
 * Sandboxed preloads run as CommonJS scripts and may require only `electron` and a few Node
 * built-ins, never our own files (Electron, "ES Modules in Electron": sandboxed preloads are not
 * ES modules). So the window's list of calls comes from the main process as data on the command
 * line (`--pkb-api=…`, added by windows.ts through `additionalArguments`), and the types come
 * from the registry with `import type`, which leaves nothing behind at run time.
 *
 * Pages get plain functions: a request resolves with main's answer; a subscription gets the
 * payload only (never the IPC event, which would expose the sender object) and returns the
 * function that unsubscribes.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is a CommonJS script
import electron = require('electron');
import type { ApiManifest, BrokerApi } from '../main/shell/ipc-channels.js';

/** Must equal MANIFEST_SWITCH in main/shell/ipc-channels.ts (a test checks it). */
const MANIFEST_SWITCH = '--pkb-api=';
const CHANNEL = /^pkb:[a-z-]+(?::[a-z-]+)*$/;
const METHOD = /^[a-zA-Z]{1,40}$/;

function readManifest(argv: readonly string[]): ApiManifest {
  const arg = argv.find((a) => a.startsWith(MANIFEST_SWITCH));
  if (!arg) return { requests: {}, events: {} };
  const parsed = JSON.parse(decodeURIComponent(arg.slice(MANIFEST_SWITCH.length))) as ApiManifest;
  const clean = (table: Readonly<Record<string, string | undefined>> | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [method, channel] of Object.entries(table ?? {}))
      if (METHOD.test(method) && typeof channel === 'string' && CHANNEL.test(channel)) out[method] = channel;
    return out;
  };
  return { requests: clean(parsed.requests), events: clean(parsed.events) };
}

function buildApi(
  manifest: ApiManifest,
  ipc: Pick<Electron.IpcRenderer, 'invoke' | 'on' | 'removeListener'>,
) {
  const api: Record<string, unknown> = {};
  for (const [method, channel] of Object.entries(manifest.requests) as [string, string][])
    api[method] = (...args: unknown[]) => ipc.invoke(channel, ...args);
  for (const [method, channel] of Object.entries(manifest.events) as [string, string][])
    api[method] = (listener: (payload: unknown) => void) => {
      if (typeof listener !== 'function') throw new TypeError(`${method} needs a function`);
      const forward = (_event: unknown, payload: unknown): void => listener(payload);
      ipc.on(channel, forward);
      return () => void ipc.removeListener(channel, forward);
    };
  return Object.freeze(api) as Partial<BrokerApi>;
}

electron.contextBridge.exposeInMainWorld(
  'broker',
  buildApi(readManifest(process.argv), electron.ipcRenderer),
);
