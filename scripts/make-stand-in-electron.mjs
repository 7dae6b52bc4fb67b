#!/usr/bin/env node
// A STAND-IN for an unpacked Electron distribution, for verifying the packaging only (the real
// Electron binary cannot be downloaded in CI). It has the layout electron-builder copies for
// Linux (`electron`, `resources/` without default_app.asar, `locales/`, LICENSE files, `version`) but the "binary" is a
// shell script that refuses to run. It carries Electron's fuse wire (the sentinel, version 1,
// eight fuses at Electron's defaults) so that electron-builder can flip the fuses and the
// packaging check can read back what it wrote. Nothing built from it can run as an app.
//   node scripts/make-stand-in-electron.mjs <dir>
import { Buffer } from 'node:buffer';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// RunAsNode, CookieEncryption, NodeOptions, NodeCliInspect, AsarIntegrity, OnlyLoadAppFromAsar,
// BrowserProcessSpecificV8Snapshot, GrantFileProtocolExtraPrivileges — as Electron ships them.
const DEFAULT_FUSES = '10110001';

export function makeStandInElectron(dir) {
  const require = createRequire(import.meta.url);
  const version = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'resources'), { recursive: true });
  mkdirSync(join(dir, 'locales'), { recursive: true });
  const script = [
    '#!/bin/sh',
    '# STAND-IN for the Electron binary: made by scripts/make-stand-in-electron.mjs to verify packaging only.',
    'echo "This is a stand-in for Electron used to check packaging; it cannot run the app." >&2',
    'exit 1',
    '',
  ].join('\n');
  const wire = Buffer.concat([
    Buffer.from(`# fuse wire: ${SENTINEL}`, 'latin1'),
    Buffer.from([1, DEFAULT_FUSES.length]),
    Buffer.from(DEFAULT_FUSES, 'latin1'),
    Buffer.from('\n', 'latin1'),
  ]);
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from(script, 'utf8'), wire]));
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'version'), `${version}\n`);
  writeFileSync(join(dir, 'LICENSE'), "Stand-in: see Electron's LICENSE (MIT) in a real distribution.\n");
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<!-- stand-in -->\n');
  writeFileSync(join(dir, 'locales', 'en-US.pak'), '');
  writeFileSync(
    join(dir, 'STAND-IN-NOT-ELECTRON.txt'),
    'Made by scripts/make-stand-in-electron.mjs for the packaging check.\n',
  );
  return { dir, version };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/make-stand-in-electron.mjs <dir>');
    process.exit(2);
  }
  const { version } = makeStandInElectron(dir);
  console.log(`stand-in Electron ${version} (packaging check only) in ${dir}`);
}
