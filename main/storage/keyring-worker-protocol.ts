/** The messages between KeyringWorker (main thread) and keyring-worker.ts (the worker thread). */
export type KeyringOperation = 'get' | 'set' | 'delete';

export interface KeyringWorkerRequest {
  readonly id: number;
  readonly op: KeyringOperation;
  readonly service: string;
  readonly user: string;
  /** The value to store (`set` only). Crosses to the worker in memory, never a file or argv. */
  readonly value?: string;
}

export type KeyringWorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean | null }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } };
