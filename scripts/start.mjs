#!/usr/bin/env node
// `npm start` after the build: runs the tray app in Electron. The electron package's own
// launcher downloads the binary at run time when it is missing and then throws with a stack
// trace; this finds the binary the way that launcher does (path.txt, ELECTRON_OVERRIDE_DIST_PATH)
// and, when there is none, says what to do in one paragraph and exits 1, downloading nothing.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function electronBinary(env = process.env) {
  let dir;
  try {
    dir = dirname(createRequire(join(root, 'package.json')).resolve('electron/package.json'));
  } catch {
    return undefined;
  }
  const pathFile = join(dir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const binary = join(env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
    return existsSync(binary) ? binary : undefined;
  }
  if (!relative) return undefined;
  const binary = join(dir, 'dist', relative);
  return existsSync(binary) ? binary : undefined;
}

const NO_ELECTRON = [
  'pikpak-token-broker: the Electron binary is not installed, so the tray app cannot start',
  '(it is skipped where ELECTRON_SKIP_BINARY_DOWNLOAD=1 was set or the download failed).',
  'Install it with `npm rebuild electron` (or `node node_modules/electron/install.js`) on a',
  'machine that can reach the Electron download; Electron 45 wants Node 22.12 or newer.',
  'Without Electron, `npm run daemon` runs the same broker headless.',
].join('\n');

if (import.meta.url === `file://${process.argv[1]}`) {
  const binary = electronBinary();
  if (!binary) {
    console.error(NO_ELECTRON);
    process.exit(1);
  }
  const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit', windowsHide: false });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2'])
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal);
    });
  child.on('close', (code, signal) => {
    if (code === null) console.error(`pikpak-token-broker: Electron exited with signal ${signal}`);
    process.exit(code ?? 1);
  });
}
