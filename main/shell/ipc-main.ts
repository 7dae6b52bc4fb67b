/**
 * Main's side of the IPC registry: one handler per request of ipc-channels.ts (the compiler
 * insists on every one), each behind two checks — the sender must be one of our windows of a kind
 * allowed to make that call, and the arguments must match the call's schema. A call failing either
 * is not performed; it is logged and answered with a rejection that says nothing more.
 */
import { z } from 'zod';
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

const name = z.string().min(1).max(64);

/** The arguments each request accepts, as a tuple schema. */
export const ARGUMENT_SCHEMAS: { readonly [K in RequestName]: z.ZodType<RequestArgs<K>> } = {
  getStatus: z.tuple([]),
  login: z.tuple([
    z.strictObject({
      account: name,
      username: z.string().min(1).max(256),
      password: z.string().min(1).max(1024),
      platform: z.enum(PLATFORMS),
      rememberPassword: z.boolean(),
      captchaToken: z.string().min(1).max(4096).optional(),
    }),
  ]),
  solveCaptcha: z.tuple([z.string().min(1).max(8192)]),
  refreshNow: z.tuple([name]),
  openLogin: z.tuple([name.nullable()]),
  openClients: z.tuple([]),
  approveClient: z.tuple([name]),
  denyClient: z.tuple([name]),
  revokeClient: z.tuple([name]),
  copyAlistSetup: z.tuple([]),
  setStartAtLogin: z.tuple([z.boolean()]),
  setNotifications: z.tuple([z.boolean()]),
  closeWindow: z.tuple([]),
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
    const schema = ARGUMENT_SCHEMAS[key] as z.ZodType<unknown[]>;
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
      const parsed = schema.safeParse(args);
      if (!parsed.success) {
        deps.log.warn({ channel, window: kind }, 'ignored IPC with invalid arguments');
        throw new IpcRefusedError();
      }
      return handler(kind, ...parsed.data);
    });
    channels.push(channel);
  }
  return () => {
    for (const channel of channels) deps.ipcMain.removeHandler(channel);
  };
}
