/**
 * Builds e2e/alist-go in GOPATH mode from Debian's packages (golang-go, golang-golang-x-oauth2-dev,
 * golang-github-go-resty-resty-dev): no module downloads, so it works offline.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../support/cli-process.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds the program into `dir`; returns the binary's path or throws with go's output. */
export async function buildGoClient(dir: string): Promise<string> {
  const binary = join(dir, 'alist-go');
  const gopath = join(dir, 'gopath');
  await mkdir(gopath, { recursive: true });
  const child = spawn('go', ['build', '-o', binary, './e2e/alist-go'], {
    cwd: REPO_ROOT,
    env: childEnv({
      HOME: process.env.HOME,
      GO111MODULE: 'off',
      GOPATH: `/usr/share/gocode:${gopath}`,
      GOCACHE: join(tmpdir(), 'pkb-alist-go-cache'),
      GOFLAGS: '',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0)
    throw new Error(
      `go build ./e2e/alist-go failed (are golang-golang-x-oauth2-dev and golang-github-go-resty-resty-dev installed?):\n${stderr}`,
    );
  return binary;
}
