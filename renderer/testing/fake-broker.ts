/**
 * The preload's API, faked inside the page (injected with page.addInitScript before any page
 * script; see harness.ts). `window.broker` answers from `window.__fake`, which tests drive:
 *   reply(method, value)   the next call of `method` answers `value`
 *   hold(method)           calls of `method` wait until release(method, value)
 *   push(status)           main pushing a new status (onStatus listeners run)
 *   calls                  every call, with its arguments
 * Without a scripted answer: getStatus → the current status; login → success; others → ok.
 */
import type { RequestName, StatusView } from '../../main/shell/ipc-channels.js';

interface Call {
  readonly method: string;
  readonly args: unknown[];
}

interface FakeControl {
  calls: Call[];
  status: StatusView;
  replies: Record<string, unknown[]>;
  holding: string[];
  held: Record<string, ((value: unknown) => void)[]>;
  listeners: ((status: StatusView) => void)[];
  reply(method: string, value: unknown): void;
  hold(method: string): void;
  release(method: string, value: unknown): void;
  push(status: StatusView): void;
  count(method: string): number;
}

const METHODS = [
  'getStatus',
  'login',
  'solveCaptcha',
  'refreshNow',
  'openLogin',
  'openClients',
  'approveClient',
  'denyClient',
  'revokeClient',
  'copyAlistSetup',
  'setStartAtLogin',
  'setNotifications',
  'closeWindow',
] as const satisfies readonly RequestName[];
/** Fails to compile when a request of the registry is missing above. */
const everyRequest: Exclude<RequestName, (typeof METHODS)[number]> extends never ? true : never = true;

const page = window as unknown as {
  __fakeFixture: { status: StatusView };
  __fake: FakeControl;
  broker: unknown;
};

const control: FakeControl = {
  calls: [],
  status: page.__fakeFixture.status,
  replies: {},
  holding: [],
  held: {},
  listeners: [],
  reply(method, value) {
    (this.replies[method] ??= []).push(value);
  },
  hold(method) {
    this.holding.push(method);
  },
  release(method, value) {
    this.holding = this.holding.filter((m) => m !== method);
    for (const resolve of this.held[method]?.splice(0) ?? []) resolve(value);
  },
  push(status) {
    this.status = status;
    for (const listener of this.listeners) listener(status);
  },
  count(method) {
    return this.calls.filter((c) => c.method === method).length;
  },
};

function answer(method: string, args: unknown[]): unknown {
  const queued = control.replies[method];
  if (queued && queued.length > 0) return queued.shift();
  switch (method) {
    case 'getStatus':
      return control.status;
    case 'login':
      return {
        ok: true,
        account: (args[0] as { account: string }).account,
        expiresAt: control.status.now + 7_200_000,
        message: 'Signed in. The access token is valid for 2h 0m; the broker keeps it fresh from now on.',
      };
    default:
      return { ok: true, message: 'Done.' };
  }
}

const api: Record<string, unknown> = {};
for (const method of METHODS)
  api[method] = (...args: unknown[]): Promise<unknown> => {
    control.calls.push({ method, args: JSON.parse(JSON.stringify(args)) as unknown[] });
    if (control.holding.includes(method))
      return new Promise((resolve) => (control.held[method] ??= []).push(resolve));
    return Promise.resolve(answer(method, args));
  };
api.onStatus = (listener: (status: StatusView) => void): (() => void) => {
  control.listeners.push(listener);
  return () => {
    control.listeners = control.listeners.filter((l) => l !== listener);
  };
};

page.__fake = control;
page.broker = Object.freeze(api);
void everyRequest;
