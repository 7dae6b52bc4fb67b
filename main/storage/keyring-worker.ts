/**
 * The keychain worker thread: runs the native @napi-rs/keyring calls, one at a time, so that a
 * hung Secret Service blocks this thread and never the daemon's event loop (the binding connects
 * to D-Bus synchronously, even in `AsyncEntry`'s constructor). It uses the synchronous `Entry`:
 * the call blocks this thread only, not libuv's shared thread pool, whose threads the main thread
 * needs for files and DNS.
 *
 * Started by KeyringWorker (keyring-worker-client.ts); speaks the messages of keyring-worker-protocol.ts.
 */
import { Entry, type EntryOptions } from '@napi-rs/keyring';
import { parentPort } from 'node:worker_threads';
import type { KeyringWorkerReply, KeyringWorkerRequest } from './keyring-worker-protocol.js';

/** Linux: Secret Service only, never the in-memory kernel keyring. Ignored elsewhere. */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

function perform(request: KeyringWorkerRequest): string | null | boolean | undefined {
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

function reply(request: KeyringWorkerRequest): KeyringWorkerReply {
  try {
    return { id: request.id, ok: true, value: perform(request) ?? null };
  } catch (error) {
    // The binding's messages name services and entries, never the secret values.
    const e = error instanceof Error ? error : new Error(String(error));
    return { id: request.id, ok: false, error: { name: e.name, message: e.message } };
  }
}

parentPort?.on('message', (request: KeyringWorkerRequest) => {
  parentPort?.postMessage(reply(request));
});
