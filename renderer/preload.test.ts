/**
 * The preload as Electron runs it in a sandboxed window: a CommonJS script whose `require` knows
 * only `electron` (and a few built-ins), with the window's calls on the command line.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import ts from 'typescript';
import {
  apiManifest,
  manifestArgument,
  MANIFEST_SWITCH,
  type WindowKind,
} from '../main/shell/ipc-channels.js';
import { REPO } from './testing/page-server.js';

interface Recorded {
  exposed: Record<string, unknown>;
  invoked: { channel: string; args: unknown[] }[];
  listeners: Map<string, ((event: unknown, payload: unknown) => void)[]>;
}

async function runPreload(argv: string[]): Promise<Recorded> {
  const source = await readFile(join(REPO, 'renderer', 'preload.cts'), 'utf8');
  const code = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  }).outputText;
  const recorded: Recorded = { exposed: {}, invoked: [], listeners: new Map() };
  const electron = {
    contextBridge: {
      exposeInMainWorld(key: string, api: unknown) {
        recorded.exposed[key] = api;
      },
    },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        recorded.invoked.push({ channel, args });
        return { answered: channel };
      },
      on(channel: string, listener: (event: unknown, payload: unknown) => void) {
        recorded.listeners.set(channel, [...(recorded.listeners.get(channel) ?? []), listener]);
      },
      removeListener(channel: string, listener: (event: unknown, payload: unknown) => void) {
        recorded.listeners.set(
          channel,
          (recorded.listeners.get(channel) ?? []).filter((l) => l !== listener),
        );
      },
    },
  };
  const sandboxRequire = (name: string): unknown => {
    if (name === 'electron') return electron;
    throw new Error(`a sandboxed preload cannot require "${name}"`);
  };
  const module = { exports: {} };
  vm.runInNewContext(code, {
    require: sandboxRequire,
    process: { argv },
    module,
    exports: module.exports,
    decodeURIComponent,
  });
  return recorded;
}

describe('preload (sandboxed, CommonJS, only `electron`)', () => {
  it('uses the same switch as the main process', async () => {
    const source = await readFile(join(REPO, 'renderer', 'preload.cts'), 'utf8');
    assert.ok(source.includes(`const MANIFEST_SWITCH = '${MANIFEST_SWITCH}';`));
  });

  for (const kind of ['login', 'status', 'clients'] as WindowKind[])
    it(`${kind}: exposes exactly the calls of its window as window.broker`, async () => {
      const { exposed } = await runPreload(['electron', '--type=renderer', manifestArgument(kind)]);
      const api = exposed.broker as Record<string, unknown>;
      const manifest = apiManifest(kind);
      assert.deepEqual(
        Object.keys(api).sort(),
        [...Object.keys(manifest.requests), ...Object.keys(manifest.events)].sort(),
      );
      assert.equal(Object.isFrozen(api), true);
    });

  it('a call becomes ipcRenderer.invoke on its channel with its arguments', async () => {
    const recorded = await runPreload([manifestArgument('status')]);
    const api = recorded.exposed.broker as Record<string, (...args: unknown[]) => Promise<unknown>>;
    assert.deepEqual(await api.refreshNow!('main'), { answered: 'pkb:account:refresh' });
    assert.deepEqual(recorded.invoked, [{ channel: 'pkb:account:refresh', args: ['main'] }]);
  });

  it('a subscription gets the payload only (never the IPC event) and can unsubscribe', async () => {
    const recorded = await runPreload([manifestArgument('status')]);
    const api = recorded.exposed.broker as { onStatus(listener: (payload: unknown) => void): () => void };
    const seen: unknown[][] = [];
    const stop = api.onStatus((...args: unknown[]) => seen.push(args));
    const [listener] = recorded.listeners.get('pkb:status:changed')!;
    listener!({ sender: 'the IPC event' }, { now: 1 });
    assert.deepEqual(seen, [[{ now: 1 }]]);
    stop();
    assert.deepEqual(recorded.listeners.get('pkb:status:changed'), []);
  });

  it('ignores entries that are not our channels, and exposes nothing without a manifest', async () => {
    const tampered = `${MANIFEST_SWITCH}${encodeURIComponent(
      JSON.stringify({
        requests: { getStatus: 'pkb:status:get', sendSync: 'ELECTRON_BROWSER_REQUIRE', 'bad name': 'pkb:x' },
        events: { onStatus: 'pkb:status:changed' },
      }),
    )}`;
    const { exposed } = await runPreload([tampered]);
    assert.deepEqual(Object.keys(exposed.broker as object).sort(), ['getStatus', 'onStatus']);
    const none = await runPreload(['electron']);
    assert.deepEqual(Object.keys(none.exposed.broker as object), []);
  });
});
