/** The messages between KeyringHost (the broker's process) and keyring-host.ts (its child process). */
export type KeyringOperation = 'get' | 'set' | 'delete';

export interface KeyringHostRequest {
  readonly id: number;
  readonly op: KeyringOperation;
  readonly service: string;
  readonly user: string;
  /** The value to store (`set` only). Crosses to the child over its IPC channel, never argv or env. */
  readonly value?: string;
}

export type KeyringHostReply =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean | null }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } };
