import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';

import { PATHS, PRESETS, type TokenResponseBody } from '../../main/pikpak/protocol.js';
import { startEmulator, type Emulator } from './server.js';
import { bearer, call, captchaInitForSignin, signIn, type CaptchaAnswer } from './test-client.js';

const USER = 'tls@example.com';
const PASSWORD = 'pw-tls';
const web = PRESETS.web;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

void describe('emulator: HTTPS', () => {
  let pikpak: Emulator;
  before(async () => {
    pikpak = await startEmulator({ accounts: [{ username: USER, password: PASSWORD }], https: true });
  });
  after(() => pikpak.close());

  void it('serves the same app over HTTPS, trusted through caCertPem, for every PikPak host name', async () => {
    assert.ok(pikpak.httpsUrl?.startsWith('https://127.0.0.1:'));
    assert.match(pikpak.caCertPem ?? '', /^-----BEGIN CERTIFICATE-----/);
    const ca = pikpak.caCertPem!;
    const direct = await captchaInitForSignin(pikpak.httpsUrl!, web, USER, 'dev-tls', { ca });
    assert.equal(direct.status, 200, direct.text);
    for (const host of [
      'user.mypikpak.com',
      'user.mypikpak.net',
      'api-drive.mypikpak.com',
      'api-drive.mypikpak.net',
    ]) {
      const res = await call(`${pikpak.httpsUrl}${PATHS.about}`, { ca, servername: host, headers: { host } });
      assert.equal(res.status, 401, `${host}: ${res.text}`); // reached the app: no bearer token
    }
    // State is shared with the HTTP listener.
    const tokens = await signIn(pikpak.url, web, USER, PASSWORD);
    const about = await call(`${pikpak.httpsUrl}${PATHS.about}`, {
      ca,
      headers: bearer(tokens.access_token),
    });
    assert.equal(about.status, 200);
  });

  void it('is not trusted without the CA, nor for other names', async () => {
    await assert.rejects(call(`${pikpak.httpsUrl}${PATHS.about}`), (error: NodeJS.ErrnoException) =>
      /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(error.code ?? ''),
    );
    await assert.rejects(
      call(`${pikpak.httpsUrl}${PATHS.about}`, {
        ca: pikpak.caCertPem!,
        servername: 'example.com',
        headers: { host: 'example.com' },
      }),
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    );
  });

  void it('names PikPak’s hosts, localhost and 127.0.0.1 in the certificate', async () => {
    const { port } = new URL(pikpak.httpsUrl!);
    const cert = await new Promise<PeerCertificate>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: Number(port), ca: pikpak.caCertPem!, servername: 'localhost' },
        () => {
          resolve(socket.getPeerCertificate());
          socket.end();
        },
      );
      socket.on('error', reject);
    });
    for (const name of [
      'DNS:user.mypikpak.com',
      'DNS:user.mypikpak.net',
      'DNS:api-drive.mypikpak.com',
      'DNS:api-drive.mypikpak.net',
      'DNS:localhost',
      'IP Address:127.0.0.1',
    ]) {
      assert.ok(cert.subjectaltname?.includes(name), `${name} missing from ${cert.subjectaltname}`);
    }
  });
});

/** Starts the CLI as one node process (no npx/tsx wrapper, so signals reach it directly). */
function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'e2e/emulator/cli.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Stdout lines until `done` says enough (or the process ends). */
async function readLines(child: ChildProcess, done: (lines: string[]) => boolean): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) {
    lines.push(line);
    if (done(lines)) break;
  }
  return lines;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

void describe('emulator: CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pikpak-emulator-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('prints "listening http://127.0.0.1:PORT", serves, reads env variables and exits cleanly on SIGTERM', async () => {
    const caFile = join(dir, 'ca.pem');
    const child = startCli(
      ['--port', '0', '--https-port', '0', '--ca-out', caFile, '--account', 'cli@example.com:pw:with:colons'],
      { PIKPAK_BROKER_ACCESS_TTL: '77', PIKPAK_BROKER_CAPTCHA_CHALLENGE: '0' },
    );
    try {
      const lines = await readLines(child, (l) => l.some((x) => x.startsWith('access-ttl')));
      const http = lines.find((l) => /^listening http:\/\/127\.0\.0\.1:\d+$/.test(l));
      const https = lines.find((l) => /^listening https:\/\/127\.0\.0\.1:\d+$/.test(l));
      assert.ok(http && https, lines.join('\n'));
      assert.ok(lines.includes(`ca-cert ${caFile}`), lines.join('\n'));
      const url = http.slice('listening '.length);

      const tokens = await signIn(url, web, 'cli@example.com', 'pw:with:colons');
      assert.equal(tokens.expires_in, 77, 'PIKPAK_BROKER_ACCESS_TTL is honoured');
      const captcha = await captchaInitForSignin(url, web, 'cli@example.com', 'd');
      assert.notEqual((captcha.json as CaptchaAnswer).captcha_token, '', 'CAPTCHA_CHALLENGE=0 means off');

      const ca = readFileSync(caFile, 'utf8');
      const about = await call(`${https.slice('listening '.length)}${PATHS.about}`, {
        ca,
        headers: bearer((tokens as TokenResponseBody).access_token),
      });
      assert.equal(about.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exitOf(child), 0);
  });

  void it('seeds and prints the demo account by default, and takes flags from PIKPAK_BROKER_* variables', async () => {
    const child = startCli([], { PIKPAK_BROKER_PORT: '0', PIKPAK_BROKER_NO_REQUIRE_CAPTCHA: '1' });
    try {
      const lines = await readLines(child, (l) => l.some((x) => x.startsWith('access-ttl')));
      assert.ok(
        lines.some((l) => l.startsWith('account demo@example.com password demo-password')),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => l.includes('captcha off')),
        lines.join('\n'),
      );
      const url = lines.find((l) => l.startsWith('listening http://'))!.slice('listening '.length);
      const res = await call(`${url}${PATHS.signin}`, {
        json: {
          client_id: web.clientId,
          client_secret: web.clientSecret,
          username: 'demo@example.com',
          password: 'demo-password',
        },
      });
      assert.equal(res.status, 200, res.text);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exitOf(child), 0);
  });

  void it('explains itself with --help and refuses bad values', async () => {
    const help = startCli(['--help']);
    const text = (await readLines(help, () => false)).join('\n');
    assert.equal(await exitOf(help), 0);
    for (const needle of [
      '--access-ttl',
      'PIKPAK_BROKER_ACCESS_TTL',
      '--captcha-challenge',
      '--no-require-captcha',
    ]) {
      assert.ok(text.includes(needle), needle);
    }
    const bad = startCli(['--port', 'eighty']);
    assert.notEqual(await exitOf(bad), 0);
  });
});
