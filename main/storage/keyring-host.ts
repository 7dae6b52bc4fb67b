/**
 * The keychain host: a small child process that runs the native @napi-rs/keyring calls, one at a
 * time, for the broker (started by KeyringHost, keyring-host-client.ts; speaks the messages of
 * keyring-host-protocol.ts over its IPC channel).
 *
 * Why a process and not a thread: the binding (libdbus) hangs, or crashes with SIGSEGV, when the
 * socket it opens gets a file descriptor ≥ 1024 (select()'s FD_SET limit). A thread shares the
 * broker's fd table, which holds a descriptor per open connection (a herd of 1000 consumers); this
 * process has its own, with a handful of descriptors in it. A hung Secret Service blocks this
 * process only, and a call past its deadline can be ended with SIGKILL.
 *
 * It uses the synchronous `Entry`: the call blocks this process's main thread, which has nothing
 * else to do. It exits when its parent goes (the IPC channel closes).
 */
import { Entry, type EntryOptions } from '@napi-rs/keyring';
import type { KeyringHostReply, KeyringHostRequest } from './keyring-host-protocol.js';

/** Linux: Secret Service only, never the in-memory kernel keyring. Ignored elsewhere. */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

function perform(request: KeyringHostRequest): string | null | boolean | undefined {
  // A fresh entry per call: the constructor (re)connects, so a keychain that comes back is used.
  const entry = new Entry(request.service, request.user, ENTRY_OPTIONS);
  switch (request.op) {
    case 'get':
      return entry.getPassword();
    case 'set':
      entry.setPassword(request.value ?? '');
      return undefined;
    case 'delete':
      return entry.deleteCredential();
  }
}

function reply(request: KeyringHostRequest): KeyringHostReply {
  try {
    return { id: request.id, ok: true, value: perform(request) ?? null };
  } catch (error) {
    // The binding's messages name services and entries, never the secret values.
    const e = error instanceof Error ? error : new Error(String(error));
    return { id: request.id, ok: false, error: { name: e.name, message: e.message } };
  }
}

/** Node's IPC channel (child_process.fork) or Electron's utility-process port. */
interface ParentChannel {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  postMessage(message: KeyringHostReply): void;
}

function parentChannel(): ParentChannel | undefined {
  if (process.send) {
    const send = process.send.bind(process);
    return {
      on: (event, listener) => process.on(event, listener),
      postMessage: (message) => send(message),
    };
  }
  // Electron's utilityProcess.fork: the parent is reached through process.parentPort.
  const port = (
    process as {
      parentPort?: {
        on(e: 'message', l: (ev: { data: unknown }) => void): unknown;
        postMessage(m: unknown): void;
      };
    }
  ).parentPort;
  if (!port) return undefined;
  return {
    on: (_event, listener) => port.on('message', (event) => listener(event.data)),
    postMessage: (message) => port.postMessage(message),
  };
}

const channel = parentChannel();
if (!channel) {
  process.stderr.write('keyring-host: start it through KeyringHost (it needs an IPC channel)\n');
  process.exitCode = 2;
} else {
  channel.on('message', (message) => channel.postMessage(reply(message as KeyringHostRequest)));
  // The parent went away (or stopped us as idle): nothing more will come.
  process.on('disconnect', () => process.exit(0));
}
