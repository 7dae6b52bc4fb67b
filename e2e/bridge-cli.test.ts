/**
 * The bridge as users run it: `pikpak-token-broker bridge` (the daemon with the bridge on) in a child
 * process, a private gnome-keyring, the PikPak emulator over HTTPS upstream. Proves the wiring: the
 * CA key lands in the keychain, `bridge ca` prints the CA, a client secret made with `clients add`
 * gets a working access token through the bridge, and `alist setup --new-client` prints settings
 * that work.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpThrough, httpsThrough, rawConnect, readToEnd } from '../main/bridge/testing/proxy-client.js';
import { PRESETS } from '../main/pikpak/protocol.js';
import { startEmulator, type Emulator } from './emulator/server.js';
import { collect, runCli, spawnCli, waitFor, type CliResult } from './support/cli-process.js';
import {
  hasSecretTool,
  secretTool,
  startPrivateKeyring,
  type PrivateKeyring,
} from './support/keyring-session.js';

const USER = 'bridge-cli@example.com';
const PASSWORD = 'bridge-cli-password';
const SERVICE = 'pkb-bridge-cli-test';

const keyringResult = await startPrivateKeyring();
const skip = 'skipped' in keyringResult ? `no private keychain: ${keyringResult.skipped}` : false;

describe('`pikpak-token-broker bridge` with a real keychain', { skip }, () => {
  const keyring = keyringResult as PrivateKeyring;
  let emulator: Emulator;
  let dir: string;
  let dataDir: string;
  let common: string[];
  let bridgePort = 0;
  let bridge: ReturnType<typeof spawnCli>;
  let bridgeDone: Promise<CliResult>;
  let stderr = '';
  const env = (): Record<string, string> => ({ ...keyring.env });

  before(async () => {
    emulator = await startEmulator({ https: true, accounts: [{ username: USER, password: PASSWORD }] });
    dir = await mkdtemp(join(tmpdir(), 'pkb-bcli-'));
    dataDir = join(dir, 'data');
    const caFile = join(dir, 'emulator-ca.pem');
    await writeFile(caFile, emulator.caCertPem!);
    common = [
      '--data-dir',
      dataDir,
      '--socket',
      join(dir, 'broker.sock'),
      '--keychain-service',
      SERVICE,
      '--auth-base-url',
      emulator.url,
      '--drive-base-url',
      emulator.url,
      '--upstream-ca',
      caFile,
    ];
    const login = await runCli(
      ['login', '--account', 'main', '--username', USER, '--password-stdin', ...common],
      {
        env: env(),
        input: PASSWORD,
      },
    );
    assert.equal(login.code, 0, login.stderr);
    const emulatorPort = new URL(emulator.httpsUrl!).port;
    bridge = spawnCli(
      [
        'bridge',
        '--bridge',
        '127.0.0.1:0',
        '--upstream-auth-base-url',
        emulator.httpsUrl!,
        '--tunnel-map',
        `api-drive.mypikpak.net:443=127.0.0.1:${emulatorPort}`,
        '--log-format',
        'json',
        '--log-level',
        'debug',
        ...common,
      ],
      { env: env() },
    );
    bridge.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    bridgeDone = collect(bridge, { timeoutMs: 120_000 });
    await waitFor(() => {
      const match = /AList bridge listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (match) bridgePort = Number(match[1]);
      return bridgePort > 0 && /token service listening/.test(stderr);
    }, 'the bridge to listen');
  });

  after(async () => {
    bridge?.kill('SIGKILL');
    await emulator?.close();
    await keyring.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the CA key in the keychain and only the certificate in the data folder', async () => {
    const files = await readdir(dataDir);
    assert.ok(files.includes('bridge-ca.pem'), files.join(', '));
    for (const file of files) {
      const text = await readFile(join(dataDir, file), 'utf8').catch(() => '');
      assert.ok(!text.includes('PRIVATE KEY'), `a private key in ${file}`);
    }
    if (hasSecretTool()) {
      const lookup = await secretTool(keyring.env, [
        'lookup',
        'service',
        SERVICE,
        'username',
        '_bridge/bridge-ca-key',
      ]);
      assert.equal(lookup.code, 0, lookup.stderr);
      assert.match(lookup.stdout, /^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it('`bridge ca` prints the CA the bridge uses; --bundle puts the public roots first', async () => {
    const ca = await runCli(['bridge', 'ca', ...common], { env: env() });
    assert.equal(ca.code, 0, ca.stderr);
    assert.equal(ca.stdout, await readFile(join(dataDir, 'bridge-ca.pem'), 'utf8'));
    assert.match(ca.stderr, /SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const bundle = await runCli(['bridge', 'ca', '--bundle', ...common], { env: env() });
    assert.equal(bundle.code, 0, bundle.stderr);
    assert.ok(bundle.stdout.endsWith(ca.stdout));
    assert.ok((bundle.stdout.match(/BEGIN CERTIFICATE/g) ?? []).length > 100, 'the public roots');
  });

  it('answers a token call made with a client secret, and that access token works on the drive', async () => {
    const added = await runCli(['clients', 'add', 'alist', '--account', 'main', ...common], { env: env() });
    assert.equal(added.code, 0, added.stderr);
    const secret = added.stdout.trim();
    assert.match(secret, /^pkb_/);
    const ca = await readFile(join(dataDir, 'bridge-ca.pem'), 'utf8');
    const upstreamTokenCalls = emulator.stats().requests.token ?? 0;
    const token = await httpsThrough(bridgePort, {
      proxySecret: secret,
      host: 'user.mypikpak.net',
      path: `/v1/auth/token?client_id=${PRESETS.android.clientId}`,
      ca,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: PRESETS.android.clientId,
        client_secret: PRESETS.android.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: secret,
      }),
    });
    assert.equal(token.status, 200, token.body.toString());
    const { access_token: accessToken } = token.json as { access_token: string };
    const about = await httpsThrough(bridgePort, {
      proxySecret: secret,
      host: 'api-drive.mypikpak.net',
      path: '/drive/v1/about',
      ca: emulator.caCertPem!,
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.equal(about.status, 200, about.body.toString());
    assert.equal(
      emulator.stats().requests.token ?? 0,
      upstreamTokenCalls,
      'the token call never reached PikPak',
    );
    assert.ok(!stderr.includes(secret), 'the client secret in the log');
    assert.match(stderr, /"msg":"bridge: answering from the broker"/);
  });

  it('refuses CONNECT and absolute-form requests without valid proxy credentials with 407, to PikPak and anywhere else', async () => {
    const wrong = 'pkb_not-a-client-secret';
    for (const secret of [undefined, wrong])
      for (const target of [
        'user.mypikpak.net:443',
        'api-drive.mypikpak.net:443',
        `127.0.0.1:${bridgePort}`,
      ]) {
        const answer = await rawConnect(bridgePort, target, secret);
        const rest = (await readToEnd(answer.socket, answer.rest)).toString();
        assert.equal(answer.status, 407, `${target}: ${answer.head}`);
        assert.match(answer.head, /\r\nProxy-Authenticate: Basic realm="pikpak-token-broker"/);
        assert.match(rest, /HTTPS_PROXY=http:\/\/alist:SECRET@/);
      }
    for (const url of [`http://user.mypikpak.net/v1/auth/token`, `${emulator.url}/drive/v1/about`]) {
      const res = await httpThrough(bridgePort, url, { proxySecret: undefined, body: '{}' });
      assert.equal(res.status, 407, url);
      assert.equal(res.headers['proxy-authenticate'], 'Basic realm="pikpak-token-broker"');
    }
    assert.doesNotMatch(stderr, /"msg":"bridge: tunnel"[^\n]*"host":"127\.0\.0\.1/, 'dialled nothing');
  });

  it('`alist setup --new-client` fills in a working secret and the broker’s device id', async () => {
    const setup = await runCli(
      ['alist', 'setup', '--account', 'main', '--new-client', 'alist2', '--json', ...common],
      {
        env: env(),
      },
    );
    assert.equal(setup.code, 0, setup.stderr);
    const out = JSON.parse(setup.stdout) as {
      storage: Record<string, string>;
      environment: Record<string, string>;
    };
    const settings = JSON.parse(await readFile(join(dataDir, 'settings.json'), 'utf8')) as {
      accounts: { deviceId: string }[];
    };
    assert.equal(out.storage.device_id, settings.accounts[0]!.deviceId);
    assert.equal(out.storage.refresh_token_method, 'http');
    assert.match(out.storage.refresh_token!, /^pkb_[A-Za-z0-9_-]{43}\.main$/);
    // The proxy URL as AList gets it: the same client secret as the proxy password.
    const proxy = new URL(out.environment.HTTPS_PROXY!);
    assert.equal(`${proxy.protocol}//${proxy.host}`, 'http://127.0.0.1:5288');
    assert.equal(proxy.username, 'alist');
    assert.equal(`${proxy.password}.main`, out.storage.refresh_token);
    const token = await httpsThrough(bridgePort, {
      proxySecret: decodeURIComponent(proxy.password),
      host: 'user.mypikpak.com',
      path: '/v1/auth/token',
      ca: await readFile(join(dataDir, 'bridge-ca.pem'), 'utf8'),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: out.storage.refresh_token }),
    });
    assert.equal(token.status, 200, token.body.toString());
  });

  it('refuses a bridge address off loopback with exit code 2, before touching anything', async () => {
    for (const args of [
      ['daemon', '--bridge', '0.0.0.0:5288'],
      ['bridge', '--bridge', '192.168.1.2:5288'],
    ]) {
      const result = await runCli([...args, ...common], { env: env() });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /loopback only/);
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    bridge.kill('SIGTERM');
    const result = await bridgeDone;
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    assert.match(result.stderr, /AList bridge stopped/);
  });
});
