/**
 * The end-to-end proof of the AList bridge: a Go program that follows AList's PikPak token code
 * paths with AList's own libraries (go-resty for refresh_token_method http, golang.org/x/oauth2 for
 * oauth2; e2e/alist-go) runs as several storages of ONE account against the PikPak emulator over
 * HTTPS at access-token TTL 1 s:
 *   1. without the bridge (their own copies of the real refresh token): invalid_grant — the bug;
 *   2. through HTTPS_PROXY = the bridge, with the broker client secret as refresh token and as the
 *      proxy password (`http://alist:SECRET@…`): at least 200 refresh-token rotations and not one
 *      invalid_grant; without proxy credentials (or with wrong ones) every storage gets 407.
 * The Go program is built in GOPATH mode from Debian's packages (golang-go,
 * golang-golang-x-oauth2-dev, golang-github-go-resty-resty-dev; .ci/run installs them). Without
 * `go` the suite is skipped and says so; anything else missing fails it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalCa } from '../main/bridge/local-ca.js';
import { startBridge, type Bridge } from '../main/bridge/proxy-server.js';
import { Broker } from '../main/core/broker.js';
import { silentLogger, systemClock } from '../main/core/ports.js';
import { Secret } from '../main/core/secret.js';
import { toAuthProvider } from '../main/pikpak/auth-provider.js';
import { createPikPakClient } from '../main/runtime/auth-provider.js';
import { ClientRegistry } from '../main/service/client-registry.js';
import { MemorySettingsStore } from '../main/service/testing/memory-settings-store.js';
import { MemorySecretStore } from '../main/storage/memory-secret-store.js';
import { buildGoClient } from './alist-go/build.js';
import { startEmulator, type Emulator } from './emulator/server.js';
import { childEnv, waitFor } from './support/cli-process.js';

const ROTATIONS = 200;
const BRIDGED = { username: 'alist-bridged@example.com', password: 'bridged-password' };
const BASELINE = { username: 'alist-direct@example.com', password: 'direct-password' };

const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' });
const skip =
  goVersion.error || goVersion.status !== 0
    ? 'Go is not installed: this end-to-end test needs the Debian packages golang-go, ' +
      'golang-golang-x-oauth2-dev and golang-github-go-resty-resty-dev (.ci/run installs them)'
    : false;

interface GoCounters {
  name: string;
  method: string;
  driveCalls: number;
  driveOk: number;
  expiredRetries: number;
  refreshes: number;
  refreshFailures: number;
  invalidGrants: number;
  signIns: number;
  captchaInits: number;
  errors: number;
  firstError?: string;
  initError?: string;
}

interface GoStorage {
  readonly child: ChildProcess;
  /** Resolves when the program exits by itself (a failed init) or after stop(). */
  readonly exited: Promise<void>;
  /** Closes stdin (the program's stop signal) and resolves its counters. */
  stop(): Promise<GoCounters>;
}

describe(
  'AList’s PikPak token code paths (Go: resty + x/oauth2), two storages of one account',
  { skip },
  () => {
    let dir: string;
    let binary: string;
    let emulator: Emulator;
    let emulatorCaFile: string;
    let emulatorPort: number;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pkb-alist-go-'));
      binary = await buildGoClient(dir);
      emulator = await startEmulator({ https: true, accessTtlSeconds: 1, accounts: [BRIDGED, BASELINE] });
      emulatorCaFile = join(dir, 'emulator-ca.pem');
      await writeFile(emulatorCaFile, emulator.caCertPem!);
      emulatorPort = Number(new URL(emulator.httpsUrl!).port);
    });

    after(async () => {
      await emulator?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    function runStorage(args: string[], env: Record<string, string | undefined>): GoStorage {
      const child = spawn(binary, args, { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      return {
        child,
        exited,
        stop: async () => {
          child.stdin!.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(timer);
          const line = stdout.trim().split('\n').at(-1) ?? '';
          try {
            return JSON.parse(line) as GoCounters;
          } catch {
            throw new Error(`no counters from ${args.join(' ')}:\n${stdout}\n${stderr}`);
          }
        },
      };
    }

    const accountStats = (username: string) => emulator.stats().accounts[username]!;

    it(
      'without the bridge, the two storages lock each other out (invalid_grant)',
      { timeout: 60_000 },
      async () => {
        const client = createPikPakClient({ authBaseUrl: emulator.url, driveBaseUrl: emulator.url });
        const signedIn = await client.signInWithCaptcha({
          platform: 'android',
          username: BASELINE.username,
          password: new Secret(BASELINE.password),
          deviceId: 'b'.repeat(32),
        });
        const invalidBefore = emulator.stats().invalidGrants;
        const direct = ['-auth-base', emulator.httpsUrl!, '-drive-base', emulator.httpsUrl!];
        const rt = signedIn.refreshToken.reveal();
        // AList's oauth2 refresh goes through Go's default client, which always verifies TLS.
        const env = { SSL_CERT_FILE: emulatorCaFile };
        const storages = [
          runStorage(['-name', 'direct-http', '-method', 'http', '-refresh-token', rt, ...direct], env),
          runStorage(['-name', 'direct-oauth2', '-method', 'oauth2', '-refresh-token', rt, ...direct], env),
        ];
        let results: GoCounters[];
        try {
          await waitFor(() => emulator.stats().invalidGrants > invalidBefore, 'an invalid_grant', 30_000);
          await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the lock-out show in both
        } finally {
          results = await Promise.all(storages.map((s) => s.stop()));
        }
        const invalidGrants = emulator.stats().invalidGrants - invalidBefore;
        assert.ok(invalidGrants >= 1, 'PikPak refused a used refresh token');
        assert.ok(accountStats(BASELINE.username).reuseAttempts >= 1);
        const seen = results.reduce((n, r) => n + r.invalidGrants, 0);
        assert.ok(seen >= 1, `the storages saw invalid_grant: ${JSON.stringify(results)}`);
        assert.ok(
          results.some((r) =>
            /invalid_grant|re-provide refresh_token/.test(`${r.firstError} ${r.initError}`),
          ),
          `a storage failed the way AList does: ${JSON.stringify(results)}`,
        );
        console.log(
          `baseline without the bridge: ${invalidGrants} invalid_grant; ${JSON.stringify(results)}`,
        );
      },
    );

    it(
      `through the bridge: ${ROTATIONS}+ rotations, no invalid_grant, TLS verified or skipped as AList does`,
      { timeout: 240_000 },
      async () => {
        // The broker, exactly as the daemon builds it, against the emulator over HTTPS.
        const brokerDir = join(dir, 'broker');
        const broker = await Broker.open({
          settings: new MemorySettingsStore(),
          secrets: new MemorySecretStore(),
          auth: toAuthProvider(
            createPikPakClient({
              authBaseUrl: emulator.httpsUrl,
              driveBaseUrl: emulator.httpsUrl,
              upstreamCaFile: emulatorCaFile,
            }),
          ),
          clock: systemClock,
          random: Math.random,
          log: silentLogger,
          // Refresh at half of the 1 s lifetime (default: a quarter before expiry) to reach the
          // rotation count sooner; everything else is the daemon's default.
          keeperOptions: { refreshMarginFraction: 0.5 },
        });
        await broker.login({
          account: 'main',
          username: BRIDGED.username,
          password: new Secret(BRIDGED.password),
          platform: 'android',
          rememberPassword: false,
        });
        await broker.start();
        const clients = await ClientRegistry.open({ dataDir: brokerDir });
        const secret = (await clients.add('alist', ['main'])).reveal();
        const ca = await LocalCa.loadOrCreate({ dataDir: brokerDir, secrets: new MemorySecretStore() });
        const drive = `127.0.0.1:${emulatorPort}`;
        let bridge: Bridge | undefined;
        let results: GoCounters[] = [];
        let control: GoCounters | undefined;
        const start = emulator.stats();
        try {
          bridge = await startBridge({
            listen: '127.0.0.1:0',
            compat: { broker, clients, now: Date.now, log: silentLogger },
            ca,
            log: silentLogger,
            upstream: {
              authBaseUrl: emulator.httpsUrl,
              caCertPem: emulator.caCertPem,
              tunnelOverrides: { 'api-drive.mypikpak.net:443': drive, 'api-drive.mypikpak.com:443': drive },
            },
          });
          // AList hosts that verify TLS trust the broker's CA (and the drive host's real CA).
          const bundle = join(dir, 'bundle.pem');
          await writeFile(bundle, ca.certPem + emulator.caCertPem!);
          const brokerCaOnly = join(dir, 'emulator-only.pem');
          await writeFile(brokerCaOnly, emulator.caCertPem!);
          const deviceId = broker.account('main').deviceId;
          const storage = [
            '-username',
            BRIDGED.username,
            '-password',
            `${secret}.main`,
            '-device-id',
            deviceId,
          ];
          // AList's HTTPS_PROXY: the client secret as the proxy password.
          const withCredentials = (password: string): string => {
            const url = new URL(bridge!.proxyUrl);
            url.username = 'alist';
            url.password = password;
            return url.href.replace(/\/$/, '');
          };
          const proxy = withCredentials(secret);

          // First, without valid proxy credentials: every code path fails at the proxy (407) and
          // the bridge answers, dials and forwards nothing.
          const statsBefore = bridge.stats();
          const refusedStorages = [
            { name: 'no-credentials-http', method: 'http', env: { HTTPS_PROXY: bridge.proxyUrl } },
            {
              name: 'no-credentials-oauth2',
              method: 'oauth2',
              env: { HTTPS_PROXY: bridge.proxyUrl, SSL_CERT_FILE: bundle },
            },
            {
              name: 'wrong-credentials-http',
              method: 'http',
              env: { HTTPS_PROXY: withCredentials('pkb_not-a-client-secret') },
            },
          ].map((r) =>
            runStorage(
              [
                '-name',
                r.name,
                '-method',
                r.method,
                '-refresh-token',
                r.method === 'oauth2' ? secret : `${secret}.main`,
                ...storage,
              ],
              r.env,
            ),
          );
          // They stop by themselves when init fails; one that does not is stopped after a minute.
          const refused = await Promise.all(
            refusedStorages.map(async (r) => {
              await Promise.race([r.exited, new Promise((resolve) => setTimeout(resolve, 60_000))]);
              return r.stop();
            }),
          );
          const statsAfter = bridge.stats();
          console.log(`without proxy credentials: ${JSON.stringify(refused)}`);
          for (const r of refused) {
            assert.match(
              r.initError ?? '',
              /Proxy Authentication Required/,
              `${r.name}: ${JSON.stringify(r)}`,
            );
            assert.equal(r.refreshes, r.refreshFailures, `${r.name}: every refresh it tried failed`);
            assert.equal(r.invalidGrants, 0, `${r.name}: refused at the proxy, not by a token answer`);
            assert.equal(r.driveOk, 0, r.name);
          }
          assert.ok(
            statsAfter.unauthorized - statsBefore.unauthorized >= refused.length,
            'the bridge answered 407',
          );
          assert.equal(
            statsAfter.answered,
            statsBefore.answered,
            'no token call answered without credentials',
          );
          assert.equal(statsAfter.intercepted, statsBefore.intercepted, 'no TLS terminated');
          assert.equal(statsAfter.tunnels, statsBefore.tunnels, 'nothing dialled');
          assert.equal(statsAfter.forwarded, statsBefore.forwarded, 'nothing forwarded');

          const storages = [
            // AList's defaults: http method, TLS not verified, PikPak's .net hosts.
            runStorage(
              ['-name', 'bridged-http', '-method', 'http', '-refresh-token', `${secret}.main`, ...storage],
              {
                HTTPS_PROXY: proxy,
              },
            ),
            // TLS verification on (tls_insecure_skip_verify false), trusting the broker's CA.
            runStorage(
              [
                '-name',
                'bridged-http-verify',
                '-method',
                'http',
                '-insecure=false',
                '-refresh-token',
                `${secret}.main`,
                ...storage,
              ],
              { HTTPS_PROXY: proxy, SSL_CERT_FILE: bundle },
            ),
            // oauth2, re-minting from the plain client secret forever; older AList's .com hosts.
            runStorage(
              [
                '-name',
                'bridged-oauth2',
                '-method',
                'oauth2',
                '-refresh-token',
                secret,
                '-auth-base',
                'https://user.mypikpak.com',
                '-drive-base',
                'https://api-drive.mypikpak.com',
                ...storage,
              ],
              { HTTPS_PROXY: proxy, SSL_CERT_FILE: bundle },
            ),
          ];
          // Control: verification on without trusting the broker's CA must fail (so the run above
          // really verified the bridge's certificate).
          const untrusting = runStorage(
            [
              '-name',
              'control',
              '-method',
              'http',
              '-insecure=false',
              '-refresh-token',
              `${secret}.main`,
              ...storage,
            ],
            { HTTPS_PROXY: proxy, SSL_CERT_FILE: brokerCaOnly },
          );
          try {
            await waitFor(
              () => emulator.stats().refreshes - start.refreshes >= ROTATIONS,
              `${ROTATIONS} rotations`,
              200_000,
            );
          } finally {
            results = await Promise.all(storages.map((s) => s.stop()));
            control = await untrusting.stop();
          }
        } finally {
          await bridge?.close();
          await broker.stop();
          await clients.close();
        }
        const end = emulator.stats();
        const rotations = end.refreshes - start.refreshes;
        console.log(
          `through the bridge: ${rotations} rotations, ${end.invalidGrants - start.invalidGrants} invalid_grant; ` +
            JSON.stringify(results),
        );
        assert.ok(rotations >= ROTATIONS);
        assert.equal(end.invalidGrants - start.invalidGrants, 0, 'no invalid_grant at PikPak');
        const lineage = accountStats(BRIDGED.username).refreshTokenLineage;
        assert.equal(accountStats(BRIDGED.username).reuseAttempts, 0);
        assert.ok(
          lineage.every((e) => e.presentations <= 1),
          'every refresh token presented at most once',
        );
        // Every token call that reached PikPak was the broker's own: AList's were answered by the bridge.
        assert.equal((end.requests.token ?? 0) - (start.requests.token ?? 0), rotations);
        assert.equal(end.signins, start.signins, 'no sign-in during the run: the storages never needed one');
        for (const r of results) {
          assert.equal(r.initError, undefined, `${r.name}: ${r.initError}`);
          assert.equal(r.invalidGrants, 0, `${r.name} saw invalid_grant`);
          assert.equal(r.errors, 0, `${r.name}: ${r.firstError}`);
          assert.ok(r.refreshes >= 20, `${r.name} refreshed only ${r.refreshes} times`);
          assert.ok(r.expiredRetries >= 10 || r.method === 'oauth2', `${r.name} never hit an expired token`);
          assert.ok(r.driveOk >= 50, `${r.name}: ${r.driveOk} drive calls`);
        }
        assert.ok(results.reduce((n, r) => n + r.refreshes, 0) >= ROTATIONS, 'AList-side refreshes');
        assert.ok(
          (end.requests.files ?? 0) - (start.requests.files ?? 0) >=
            results.reduce((n, r) => n + r.driveCalls, 0),
          'drive calls reached the emulator through the tunnel',
        );
        assert.ok(end.captchaInits - start.captchaInits >= 3, 'captcha init was forwarded upstream');
        assert.match(
          control?.initError ?? '',
          /x509|certificate/,
          'the control storage did not trust the bridge',
        );
      },
    );
  },
);
