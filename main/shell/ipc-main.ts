/**
 * Main's side of the IPC registry: one handler per request of ipc-channels.ts (the compiler
 * insists on every one), each behind two checks — the sender must be one of our windows of a kind
 * allowed to make that call, and the arguments must match the call's schema. A call failing either
 * is not performed; it is logged and answered with a rejection that says nothing more.
 */
import * as v from 'valibot';
import type { Logger } from '../core/ports.js';
import { PLATFORMS } from '../pikpak/protocol.js';
import type { IpcMainEventLike, IpcMainLike } from './electron-types.js';
import {
  REQUESTS,
  type RequestArgs,
  type RequestName,
  type RequestResult,
  type WindowKind,
} from './ipc-channels.js';

/** Every request, implemented; `sender` is the kind of window that asked. */
export type IpcHandlers = {
  readonly [K in RequestName]: (
    sender: WindowKind,
    ...args: RequestArgs<K>
  ) => RequestResult<K> | Promise<RequestResult<K>>;
};

const name = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const text = (max: number) => v.pipe(v.string(), v.minLength(1), v.maxLength(max));

/** The arguments each request accepts, as a strict tuple schema (an extra argument is refused). */
export const ARGUMENT_SCHEMAS: { readonly [K in RequestName]: v.GenericSchema<RequestArgs<K>> } = {
  getStatus: v.strictTuple([]),
  login: v.strictTuple([
    v.strictObject({
      account: name,
      username: text(256),
      password: text(1024),
      platform: v.picklist(PLATFORMS),
      rememberPassword: v.boolean(),
      captchaToken: v.optional(text(4096)),
    }),
  ]),
  solveCaptcha: v.strictTuple([text(8192)]),
  refreshNow: v.strictTuple([name]),
  openLogin: v.strictTuple([v.nullable(name)]),
  openClients: v.strictTuple([]),
  approveClient: v.strictTuple([name]),
  denyClient: v.strictTuple([name]),
  revokeClient: v.strictTuple([name]),
  copyAlistSetup: v.strictTuple([]),
  setStartAtLogin: v.strictTuple([v.boolean()]),
  setNotifications: v.strictTuple([v.boolean()]),
  closeWindow: v.strictTuple([]),
};

export class IpcRefusedError extends Error {
  constructor() {
    super('refused');
    this.name = 'IpcRefusedError';
  }
}

export interface RegisterIpcDeps {
  readonly ipcMain: IpcMainLike;
  /** Which of our windows sent this, if any (WindowManager.senderKind). */
  readonly senderKind: (event: IpcMainEventLike) => WindowKind | undefined;
  readonly log: Logger;
}

/** Registers every handler; call before any window exists. Returns the function that removes them. */
export function registerIpc(handlers: IpcHandlers, deps: RegisterIpcDeps): () => void {
  const channels: string[] = [];
  for (const key of Object.keys(REQUESTS) as RequestName[]) {
    const { channel, windows } = REQUESTS[key];
    const schema = ARGUMENT_SCHEMAS[key] as v.GenericSchema<unknown[]>;
    const handler = handlers[key] as (sender: WindowKind, ...args: unknown[]) => unknown;
    deps.ipcMain.handle(channel, (event, ...args) => {
      const kind = deps.senderKind(event);
      if (kind === undefined || !(windows as readonly WindowKind[]).includes(kind)) {
        deps.log.warn(
          { channel, sender: event.sender.id },
          'ignored IPC from a sender that is not one of our windows',
        );
        throw new IpcRefusedError();
      }
      const parsed = v.safeParse(schema, args);
      if (!parsed.success) {
        deps.log.warn({ channel, window: kind }, 'ignored IPC with invalid arguments');
        throw new IpcRefusedError();
      }
      return handler(kind, ...parsed.output);
    });
    channels.push(channel);
  }
  return () => {
    for (const channel of channels) deps.ipcMain.removeHandler(channel);
  };
}
