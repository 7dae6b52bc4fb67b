#!/usr/bin/env node
// Runs the compiled CLI (dist/, what the npm package ships and `npm run build` makes), else the
// TypeScript sources through tsx (a development checkout, where tsx is a dev dependency).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/main/cli.js');
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `pikpak-token-broker: ${compiled} is missing and tsx (a dev dependency) is not installed, so neither the compiled CLI nor the sources can run.\n` +
        '  In a checkout: npm ci && npm run build. Otherwise reinstall the package: npm install -g pikpak-token-broker\n',
    );
    process.exit(1);
  }
  register();
  await import(pathToFileURL(join(root, 'main/cli.ts')).href);
}
