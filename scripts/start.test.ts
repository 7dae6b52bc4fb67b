/**
 * `npm start` where no Electron binary is installed (as here: ELECTRON_SKIP_BINARY_DOWNLOAD=1):
 * one short paragraph, exit 1, no stack trace and no download attempt. With a binary (a stand-in
 * script under ELECTRON_OVERRIDE_DIST_PATH) it starts that binary with the app folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const START = join(ROOT, 'scripts', 'start.mjs');

function start(env: Record<string, string>) {
  const { ELECTRON_OVERRIDE_DIST_PATH: _drop, ...rest } = process.env;
  void _drop;
  return spawnSync(process.execPath, [START], {
    cwd: ROOT,
    encoding: 'utf8',
    // Any download would go to a closed port (and show in the output).
    env: { ...rest, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', ...env },
    timeout: 30_000,
  });
}

describe('npm start', () => {
  it('without the Electron binary: one paragraph, exit 1, no stack trace, no download', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'pkb-no-electron-'));
    try {
      const result = start({ ELECTRON_OVERRIDE_DIST_PATH: empty });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /Electron binary is not installed/);
      assert.match(result.stderr, /npm rebuild electron/);
      assert.match(result.stderr, /npm run daemon` runs the same broker headless/);
      assert.doesNotMatch(result.stderr, /\n\s+at |Error:|Downloading/);
      assert.ok(result.stderr.trim().split('\n').length <= 6, 'one short paragraph');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('with a binary: starts it with the app folder and passes on its exit code', async () => {
    const dist = await mkdtemp(join(tmpdir(), 'pkb-electron-'));
    try {
      const binary = join(dist, 'electron');
      await writeFile(binary, '#!/bin/sh\necho "started with: $*"\nexit 7\n');
      await chmod(binary, 0o755);
      const result = start({ ELECTRON_OVERRIDE_DIST_PATH: dist });
      assert.equal(result.status, 7);
      assert.equal(result.stdout.trim(), `started with: ${ROOT}`);
    } finally {
      await rm(dist, { recursive: true, force: true });
    }
  });
});
