#!/usr/bin/env node
// Bundles the CLI and the daemon with esbuild into dist/bundle/ (cli.js, the keychain host and
// lazily loaded chunks), to compare with the plain tsc build: `node scripts/bundle-cli.mjs`, then
// `tsx bench/footprint.ts --cli dist/bundle/cli.js`. Code splitting keeps the lazy imports lazy.
// The native keychain binding, pino (loaded through require at the first logger) and electron
// stay outside the bundle, resolved from node_modules at run time.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'main/cli.ts', 'keyring-host': 'main/storage/keyring-host.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  external: ['@napi-rs/keyring', 'electron', 'pino'],
  // Bundled CommonJS dependencies call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
console.log('wrote dist/bundle/cli.js');
