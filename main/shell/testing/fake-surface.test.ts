/**
 * The fake Electron cannot drift from Electron 45: every method, property and event the shell's
 * types (electron-types.ts) name must exist on the matching class in Electron's own
 * electron.d.ts, and the fake must provide each method and property. Both files are read with
 * the TypeScript compiler API. The fake's documented behaviours are checked below too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import type { NativeImage } from '../electron-types.js';
import {
  createFakeElectron,
  FakeEvent,
  FakeUtilityProcess,
  type FakeMenu,
  type FakeSession,
  type FakeWebContents,
} from './fake-electron.js';
import { ROOT } from './shell-rig.js';

interface Surface {
  readonly members: Set<string>;
  readonly statics: Set<string>;
  readonly events: Set<string>;
}

const require = createRequire(import.meta.url);
const ELECTRON_DTS = join(require.resolve('electron/package.json'), '..', 'electron.d.ts');

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
}

function eventOf(member: ts.ClassElement | ts.TypeElement): string | undefined {
  if (!(ts.isMethodDeclaration(member) || ts.isMethodSignature(member))) return undefined;
  if (member.name.getText() !== 'on' && member.name.getText() !== 'once') return undefined;
  const type = member.parameters[0]?.type;
  if (type && ts.isLiteralTypeNode(type) && ts.isStringLiteral(type.literal)) return type.literal.text;
  if (type && ts.isUnionTypeNode(type))
    return type.types
      .map((t) => (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : ''))
      .join('|');
  return undefined;
}

function collect(
  decls: ReadonlyMap<string, ts.ClassDeclaration | ts.InterfaceDeclaration>,
  name: string,
): Surface {
  const surface: Surface = { members: new Set(), statics: new Set(), events: new Set() };
  const visit = (n: string): void => {
    const decl = decls.get(n);
    if (!decl) return;
    for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
      const event = eventOf(member);
      if (event) for (const e of event.split('|')) surface.events.add(e);
      const memberName = member.name?.getText();
      if (!memberName) continue;
      const isStatic =
        ts.canHaveModifiers(member) &&
        ts.getModifiers(member)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
      (isStatic ? surface.statics : surface.members).add(memberName.replace(/\?$/, ''));
    }
    for (const clause of decl.heritageClauses ?? [])
      for (const type of clause.types) visit(type.expression.getText());
  };
  visit(name);
  return surface;
}

/** Classes and interfaces declared directly in `declare namespace Electron { … }`. */
function electronDeclarations(): Map<string, ts.ClassDeclaration | ts.InterfaceDeclaration> {
  const file = parse(ELECTRON_DTS);
  const decls = new Map<string, ts.ClassDeclaration | ts.InterfaceDeclaration>();
  for (const statement of file.statements) {
    if (!ts.isModuleDeclaration(statement) || statement.name.getText() !== 'Electron') continue;
    const body = statement.body;
    if (!body || !ts.isModuleBlock(body)) continue;
    for (const s of body.statements)
      if ((ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s)) && s.name) decls.set(s.name.text, s);
  }
  return decls;
}

/** The shell's own types: what it calls and listens to. */
function shellDeclarations(): Map<string, ts.InterfaceDeclaration> {
  const file = parse(join(ROOT, 'main', 'shell', 'electron-types.ts'));
  const decls = new Map<string, ts.InterfaceDeclaration>();
  for (const s of file.statements) if (ts.isInterfaceDeclaration(s)) decls.set(s.name.text, s);
  return decls;
}

/** Shell type → Electron declaration, and whether the shell uses its statics. */
const MAPPING: Record<string, { electron: string; statics?: true }> = {
  AppLike: { electron: 'App' },
  TrayLike: { electron: 'Tray' },
  MenuLike: { electron: 'Menu' },
  MenuModule: { electron: 'Menu', statics: true },
  NativeImageModule: { electron: 'NativeImage', statics: true },
  NotificationLike: { electron: 'Notification' },
  NotificationConstructor: { electron: 'Notification', statics: true },
  SessionLike: { electron: 'Session' },
  SessionModule: { electron: 'Session', statics: true },
  WebContentsLike: { electron: 'WebContents' },
  BrowserWindowLike: { electron: 'BrowserWindow' },
  IpcMainLike: { electron: 'IpcMain' },
  IpcMainEventLike: { electron: 'IpcMainInvokeEvent' },
  ShellModule: { electron: 'Shell' },
  ClipboardModule: { electron: 'Clipboard' },
  DialogModule: { electron: 'Dialog' },
  NativeThemeLike: { electron: 'NativeTheme' },
  PowerMonitorLike: { electron: 'PowerMonitor' },
  UtilityProcessLike: { electron: 'UtilityProcess' },
  UtilityProcessModule: { electron: 'UtilityProcess', statics: true },
};

/** An instance of the fake for each shell type. */
function fakeObjects(): Record<string, object> {
  const fake = createFakeElectron();
  const { electron } = fake;
  const window = new electron.BrowserWindow({});
  const tray = new electron.Tray(electron.nativeImage.createFromPath('/x.png'));
  return {
    AppLike: electron.app,
    TrayLike: tray,
    MenuLike: electron.Menu.buildFromTemplate([]),
    MenuModule: electron.Menu,
    NativeImageModule: electron.nativeImage,
    NotificationLike: new electron.Notification({ title: 't' }),
    NotificationConstructor: electron.Notification,
    SessionLike: electron.session.fromPartition('p'),
    SessionModule: electron.session,
    WebContentsLike: window.webContents,
    BrowserWindowLike: window,
    IpcMainLike: electron.ipcMain,
    IpcMainEventLike: { sender: {}, senderFrame: {} },
    ShellModule: electron.shell,
    ClipboardModule: electron.clipboard,
    DialogModule: electron.dialog,
    NativeThemeLike: electron.nativeTheme,
    PowerMonitorLike: electron.powerMonitor,
    // Its members, without starting a process.
    UtilityProcessLike: Object.create(FakeUtilityProcess.prototype) as object,
    UtilityProcessModule: electron.utilityProcess,
  };
}

describe('the fake Electron against electron.d.ts (Electron 45)', () => {
  const electronDecls = electronDeclarations();
  const shell = shellDeclarations();

  it('maps every shell type that stands for an Electron object', () => {
    const unmapped = [...shell.keys()].filter(
      (n) => n.endsWith('Like') || n.endsWith('Module') || n.endsWith('Constructor'),
    );
    assert.deepEqual(unmapped.filter((n) => !MAPPING[n]).sort(), []);
  });

  for (const [shellName, { electron, statics }] of Object.entries(MAPPING))
    it(`${shellName}: every member and event exists on Electron.${electron}, and on the fake`, () => {
      const decl = shell.get(shellName);
      assert.ok(decl, `${shellName} is declared in electron-types.ts`);
      const real = collect(electronDecls, electron);
      assert.ok(real.members.size + real.statics.size > 0, `Electron.${electron} found in electron.d.ts`);
      const fake = fakeObjects()[shellName] as Record<string, unknown>;
      for (const member of decl.members) {
        const event = eventOf(member);
        if (event) {
          for (const e of event.split('|'))
            assert.ok(real.events.has(e), `Electron.${electron} emits no '${e}'`);
          continue;
        }
        if (ts.isCallSignatureDeclaration(member) || ts.isConstructSignatureDeclaration(member)) continue;
        const name = member.name!.getText();
        const set = statics ? real.statics : real.members;
        assert.ok(set.has(name), `Electron.${electron} has no ${statics ? 'static ' : ''}${name}`);
        assert.ok(name in fake, `the fake ${shellName} has no ${name}`);
        if (ts.isMethodSignature(member))
          assert.equal(typeof fake[name], 'function', `the fake ${shellName}.${name} is a method`);
      }
    });

  it('every event the fake emits is one Electron declares', () => {
    const source = readFileSync(join(ROOT, 'main', 'shell', 'testing', 'fake-electron.ts'), 'utf8');
    const emitted = new Set([...source.matchAll(/\.emit\('([\w-]+)'/g)].map((m) => m[1]!));
    const all = new Set([...electronDecls.keys()].flatMap((n) => [...collect(electronDecls, n).events]));
    assert.ok(emitted.size >= 8, 'the fake emits events');
    for (const event of emitted) assert.ok(all.has(event), `no Electron class emits '${event}'`);
  });
});

describe('the fake Electron behaves as documented', () => {
  it('loadFile gives a percent-encoded file:// URL (pathToFileURL) with the query', async () => {
    const { electron, windows } = createFakeElectron();
    const window = new electron.BrowserWindow({});
    await window.loadFile('/Users/me/My Apps/renderer/status.html', { query: { account: 'a b' } });
    assert.equal(
      windows[0]!.webContents.getURL(),
      'file:///Users/me/My%20Apps/renderer/status.html?account=a+b',
    );
  });

  it('whenReady resolves only at ready(); windows and trays cannot be made before', async () => {
    const fake = createFakeElectron({ ready: false });
    let ready = false;
    void fake.app.whenReady().then(() => (ready = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ready, false);
    assert.throws(() => new fake.electron.BrowserWindow({}), /before app is ready/);
    fake.app.ready();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ready, true);
  });

  it('isPackaged is false by default (npm start)', () => {
    assert.equal(createFakeElectron().app.isPackaged, false);
  });

  it('a checkbox item flips its own checked before the click handler runs; the template is left alone', () => {
    const { electron } = createFakeElectron();
    const seen: boolean[] = [];
    const template = [
      {
        type: 'checkbox' as const,
        label: 'x',
        checked: false,
        click: (item: unknown) => void seen.push((item as { checked: boolean }).checked),
      },
    ];
    const menu = electron.Menu.buildFromTemplate(template) as unknown as FakeMenu;
    menu.click('x');
    assert.deepEqual(seen, [true]);
    assert.equal(template[0]!.checked, false);
  });

  it('webRequest never sees an unknown scheme; it does see https', () => {
    const fake = createFakeElectron();
    const ses = fake.electron.session.fromPartition('p') as unknown as FakeSession;
    const seen: string[] = [];
    ses.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
      seen.push(details.url);
      callback({});
    });
    assert.equal(ses.request('xlaccsdk01://xbase.cloud/callback?captcha_token=t'), undefined);
    assert.deepEqual(ses.request('https://example.com/'), {});
    assert.deepEqual(seen, ['https://example.com/']);
  });

  it('will-frame-navigate fires for the main frame too, before will-navigate', () => {
    const { electron } = createFakeElectron();
    const window = new electron.BrowserWindow({});
    const order: string[] = [];
    window.webContents.on(
      'will-frame-navigate',
      (e) => void order.push(`frame ${(e as unknown as { isMainFrame: boolean }).isMainFrame}`),
    );
    window.webContents.on('will-navigate', () => void order.push('navigate'));
    (window.webContents as unknown as FakeWebContents).navigate('https://a.example/');
    assert.deepEqual(order, ['frame true', 'navigate']);
  });

  it('nativeImage: empty for relative paths and for .ico off Windows; @2x and Template names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-image-'));
    try {
      for (const f of ['okTemplate.png', 'okTemplate@2x.png', 'ok.ico', 'single.png'])
        await writeFile(join(dir, f), 'x');
      const image = (platform: NodeJS.Platform, path: string): NativeImage =>
        createFakeElectron({ platform }).electron.nativeImage.createFromPath(path);
      assert.equal(image('linux', 'build/tray/ok-light@2x.png').isEmpty(), true, 'relative');
      assert.equal(image('linux', join(dir, 'ok.ico')).isEmpty(), true);
      assert.equal(image('darwin', join(dir, 'ok.ico')).isEmpty(), true);
      assert.equal(image('win32', join(dir, 'ok.ico')).isEmpty(), false);
      assert.equal(image('linux', join(dir, 'missing.png')).isEmpty(), true);
      assert.deepEqual(image('darwin', join(dir, 'okTemplate.png')).getScaleFactors(), [1, 2]);
      assert.deepEqual(image('linux', join(dir, 'single.png')).getScaleFactors(), [1]);
      assert.equal(image('darwin', join(dir, 'okTemplate.png')).isTemplateImage(), true);
      assert.equal(image('linux', join(dir, 'okTemplate.png')).isTemplateImage(), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Linux: Notification.isSupported() is true without a daemon; showing one then fails', () => {
    const fake = createFakeElectron();
    fake.notificationDaemon = false;
    assert.equal(fake.electron.Notification.isSupported(), true);
    const n = new fake.electron.Notification({ title: 't' });
    const failures: string[] = [];
    n.on('failed', (_e, error) => void failures.push(error));
    n.show();
    assert.equal(failures.length, 1);
  });

  it('the session end arrives as powerMonitor shutdown (Linux, macOS) or window session-end (Windows)', () => {
    const fake = createFakeElectron();
    const window = new fake.electron.BrowserWindow({});
    const got: string[] = [];
    window.on('session-end', () => void got.push('session-end'));
    fake.electron.powerMonitor.on('shutdown', (e) => void got.push(`shutdown ${e instanceof FakeEvent}`));
    fake.endSession('win32');
    fake.endSession('linux');
    assert.deepEqual(got, ['session-end', 'shutdown true']);
  });
});
