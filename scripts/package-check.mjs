#!/usr/bin/env node
// The packaging check (npm run package:check, after npm run build; CI runs it): builds the Linux
// `dir` and `tar.gz` targets offline against a STAND-IN Electron distribution
// (scripts/make-stand-in-electron.mjs — it cannot run, it only has the right layout and fuse
// wire), then opens the asar and checks what the app needs at run time is there and nothing
// else. `deb` and `AppImage` are run too: offline they must get as far as downloading their tool
// (fpm, appimage) and fail there, not on the configuration.
// What this cannot check: that the real Electron starts the package (see the README's list of
// what is not yet verified on real hardware).
import asar from '@electron/asar';
import { getCurrentFuseWire } from '@electron/fuses';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeStandInElectron } from './make-stand-in-electron.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml');
const SEVEN_ZIP = process.env.ELECTRON_BUILDER_7ZIP_PATH ?? '/usr/bin/7za';

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

if (!existsSync(SEVEN_ZIP)) {
  console.error(`package:check needs 7-Zip at ${SEVEN_ZIP} (Debian: apt-get install p7zip-full).`);
  process.exit(1);
}
if (!existsSync(join(root, 'dist', 'main', 'app.js'))) {
  console.error('package:check needs the compiled app: run npm run build first.');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'pkb-package-check-'));
const standIn = makeStandInElectron(join(work, 'stand-in-electron')).dir;

/** electron-builder, offline: any download goes to a closed port and fails at once. */
function builder(targets, out) {
  const result = spawnSync(
    process.execPath,
    [
      require.resolve('electron-builder/cli.js'),
      '--linux',
      ...targets,
      `-c.electronDist=${standIn}`,
      `-c.directories.output=${out}`,
    ],
    {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        DEBUG: 'electron-builder',
        ELECTRON_BUILDER_7ZIP_PATH: SEVEN_ZIP,
        ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
        https_proxy: 'http://127.0.0.1:9',
        http_proxy: 'http://127.0.0.1:9',
        NO_PROXY: '',
        no_proxy: '',
        CSC_IDENTITY_AUTO_DISCOVERY: 'false',
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { status: result.status, log: `${result.stdout}\n${result.stderr}` };
}

try {
  const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

  // ── dir + tar.gz ──────────────────────────────────────────────────────────────────────────
  const out = join(work, 'release');
  const built = builder(['dir', 'tar.gz'], out);
  check(built.status === 0, 'electron-builder --linux dir tar.gz builds offline against the stand-in');
  if (built.status !== 0) {
    console.error(built.log.split('\n').slice(-40).join('\n'));
    throw new Error('build failed');
  }
  const appDir = join(out, 'linux-unpacked');
  const resources = join(appDir, 'resources');
  const archive = join(resources, 'app.asar');
  const unpacked = join(resources, 'app.asar.unpacked');
  const files = new Map(); // path inside the asar → header entry
  const walk = (node, prefix) => {
    for (const [name, entry] of Object.entries(node.files ?? {})) {
      const path = posix.join(prefix, name);
      if (entry.files) walk(entry, path);
      else files.set(path, entry);
    }
  };
  walk(asar.getRawHeader(archive).header, '');
  const has = (path) => files.has(path);
  const isUnpacked = (path) => files.get(path)?.unpacked === true && existsSync(join(unpacked, path));

  const size = statSync(archive).size;
  console.log(`     app.asar: ${(size / 1e6).toFixed(1)} MB, ${files.size} files`);

  // The entry, the preload, the pages and what they load.
  const packagedPkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8'));
  check(has(posix.normalize(packagedPkg.main)), `the entry ${packagedPkg.main}`);
  check(packagedPkg.productName === 'PikPak Token Broker', 'package.json productName');
  check(has('dist/renderer/preload.cjs'), 'the preload dist/renderer/preload.cjs');
  for (const page of readdirSync(join(root, 'renderer')).filter((f) => f.endsWith('.html'))) {
    check(has(`renderer/${page}`), `the page renderer/${page}`);
    const html = readFileSync(join(root, 'renderer', page), 'utf8');
    for (const [, ref] of html.matchAll(/(?:src|href)="(\.{1,2}\/[^"]+)"/g)) {
      const target = posix.normalize(posix.join('renderer', ref));
      check(has(target), `  ${page} loads ${target}`);
    }
  }
  for (const file of ['dist/renderer/status.js', 'dist/renderer/login.js', 'dist/renderer/clients.js'])
    check(has(file), `the page script ${file}`);

  // Tray icons: all of them, unpacked (Windows reads .ico files from disk).
  const { allTrayIconFiles } = await import(join(root, 'dist', 'main', 'shell', 'icons.js'));
  const icons = allTrayIconFiles();
  const missing = icons.filter((f) => !isUnpacked(`build/tray/${f}`));
  check(
    missing.length === 0,
    `all ${icons.length} tray icons, unpacked${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`,
  );
  const icos = [...files.keys()].filter((f) => f.startsWith('build/') && f.endsWith('.ico'));
  check(icos.length > 0 && icos.every(isUnpacked), `every .ico under build/ unpacked (${icos.length})`);
  check(has('build/icon.png'), 'the window icon build/icon.png');

  // The native keychain module, unpacked.
  const natives = [...files.keys()].filter((f) => f.endsWith('.node'));
  const keyring = natives.filter((f) => f.startsWith('node_modules/@napi-rs/keyring'));
  check(
    keyring.length > 0 && keyring.every(isUnpacked),
    `@napi-rs/keyring's native module unpacked (${keyring.join(', ')})`,
  );
  // The keychain host the app forks as a utility process (main/shell/keyring-utility-host.ts): in
  // the asar next to @napi-rs/keyring's JavaScript, which it resolves from there (only the .node
  // file is unpacked; an unpacked copy of the host could not find the package).
  const keyringHost = 'dist/main/storage/keyring-host.js';
  check(
    has(keyringHost) && !files.get(keyringHost)?.unpacked,
    `the keychain host ${keyringHost}, in the asar`,
  );
  check(has('node_modules/@napi-rs/keyring/package.json'), "  and @napi-rs/keyring's package, in the asar");

  // Nothing for development.
  const sources = [...files.keys()].filter((f) => /\.(ts|mts|cts|map)$/.test(f));
  check(
    sources.length === 0,
    `no .ts or .map files${sources.length ? ` (${sources.slice(0, 5).join(', ')}, …)` : ''}`,
  );
  const markdown = [...files.keys()].filter(
    (f) => /\.(md|markdown)$/i.test(f) && !/^licen[cs]e/i.test(posix.basename(f)),
  );
  check(
    markdown.length === 0,
    `no markdown but licences${markdown.length ? ` (${markdown.slice(0, 5).join(', ')})` : ''}`,
  );
  const tests = [...files.keys()].filter(
    (f) => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.test\.js$/.test(f) || /(^|\/)testing\//.test(f),
  );
  check(
    tests.length === 0,
    `no test folders or test files${tests.length ? ` (${tests.slice(0, 5).join(', ')})` : ''}`,
  );
  check(
    !has('electron-builder.yml') &&
      ![...files.keys()].some((f) => f.startsWith('main/') || f.startsWith('e2e/')),
    'no sources of ours (main/, e2e/)',
  );

  // Production dependencies only: every package in the asar (electron-builder re-hoists nested
  // copies, so it is compared by name and version) is a non-dev package of the lockfile.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const nameOf = (path) => path.replace(/^.*node_modules\//, '');
  const prodPackages = new Set(
    Object.entries(lock.packages)
      .filter(([path, info]) => path.startsWith('node_modules/') && !info.dev)
      .map(([path, info]) => `${nameOf(path)}@${info.version}`),
  );
  const shipped = new Set();
  for (const file of files.keys()) {
    const m = /^((?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+)package\.json$/.exec(file);
    if (!m) continue;
    const { version } = JSON.parse(asar.extractFile(archive, file).toString('utf8'));
    if (version) shipped.add(`${m[1].replace(/\/$/, '')}@${version}`);
  }
  const foreign = [...shipped].filter((p) => !prodPackages.has(nameOf(p)));
  check(
    shipped.size > 0 && foreign.length === 0,
    `only production dependencies (${shipped.size} packages)${foreign.length ? ` — not production: ${foreign.slice(0, 8).join(', ')}` : ''}`,
  );
  const top = new Set([...shipped].map((p) => p.replace(/@[^@]+$/, '')));
  for (const name of Object.keys(pkg.dependencies))
    check(top.has(`node_modules/${name}`), `  dependency ${name}`);
  for (const name of [
    'electron',
    'electron-builder',
    'typescript',
    'tsx',
    'esbuild',
    'eslint',
    'playwright-core',
  ])
    check(!top.has(`node_modules/${name}`), `  no dev dependency ${name}`);

  // Fuses: electron-builder flipped the stand-in's fuse wire as configured.
  const binary = join(appDir, config.linux.executableName);
  const wire = await getCurrentFuseWire(binary);
  const FUSES = [
    'runAsNode',
    'enableCookieEncryption',
    'enableNodeOptionsEnvironmentVariable',
    'enableNodeCliInspectArguments',
    'enableEmbeddedAsarIntegrityValidation',
    'onlyLoadAppFromAsar',
  ];
  for (const [index, name] of FUSES.entries()) {
    const want = config.electronFuses[name];
    check(
      typeof want === 'boolean' && wire[index] === (want ? 0x31 : 0x30),
      `fuse ${name} = ${want} in the packaged binary`,
    );
  }

  // The tarball holds the same app.
  const tarball = readdirSync(out).find((f) => f.endsWith('.tar.gz'));
  check(tarball !== undefined, `the tar.gz (${tarball})`);
  if (tarball) {
    const listing = spawnSync('tar', ['-tzf', join(out, tarball)], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    }).stdout;
    check(/\/resources\/app\.asar$/m.test(listing), '  it has resources/app.asar');
    check(
      /\/resources\/app\.asar\.unpacked\/build\/tray\/ok-light\.ico$/m.test(listing),
      '  and the unpacked tray icons',
    );
    check(
      new RegExp(`/${config.linux.executableName}$`, 'm').test(listing),
      `  and the executable ${config.linux.executableName}`,
    );
  }

  // Linux desktop entry: named after desktopName, StartupWMClass from it (Electron's app_id).
  check(
    pkg.desktopName === `${config.linux.executableName}.desktop`,
    `desktopName ${pkg.desktopName} matches the executable`,
  );
  check(
    config.linux.syncDesktopName === true && config.linux.desktop?.entry?.StartupWMClass === undefined,
    'linux.syncDesktopName, no StartupWMClass override',
  );

  // ── deb and AppImage: as far as the tool download ──────────────────────────────────────────
  for (const [target, tool] of [
    ['deb', /downloading\s+file=fpm-/],
    ['AppImage', /downloading\s+file=appimage-/],
  ]) {
    const run = builder([target], join(work, target));
    const configError = /Please specify|InvalidConfigurationError|Invalid configuration|is required/i.exec(
      run.log,
    );
    check(
      run.status !== 0 && tool.test(run.log) && /ECONNREFUSED 127\.0\.0\.1:9/.test(run.log) && !configError,
      `${target}: configuration accepted, stops at the offline download of its tool${configError ? ` (config error: ${configError[0]})` : ''}`,
    );
  }
} catch (error) {
  failures.push(error.message);
  console.error(error.message);
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`package:check: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('package:check: the package holds what the app needs (stand-in Electron: packaging only)');
