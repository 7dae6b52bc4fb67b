/**
 * `alist setup` and `alist scan` as users run them (the CLI in a child process), against the
 * broker's settings file and a fake AList admin API that answers in AList's JSON shapes. Neither
 * command needs the keychain or a running broker (except `setup --new-client`, see bridge-cli).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeAlist, type FakeAlist } from '../main/bridge/testing/fake-alist.js';
import { FileSettingsStore } from '../main/storage/file-settings-store.js';
import { runCli } from './support/cli-process.js';

const DEVICE = '0123456789abcdef0123456789abcdef';
const TOKEN = 'alist-token';
const REAL_RT = 'os.real-refresh-token-xyz';

describe('alist setup and alist scan (CLI)', () => {
  let dir: string;
  let common: string[];
  let alist: FakeAlist;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-alist-cli-'));
    const dataDir = join(dir, 'data');
    await new FileSettingsStore(dataDir).save({
      version: 1,
      accounts: [
        {
          name: 'main',
          username: 'me@example.com',
          platform: 'android',
          deviceId: DEVICE,
          rememberPassword: false,
          createdAt: Date.now(),
        },
      ],
    });
    common = ['--data-dir', dataDir, '--socket', join(dir, 'broker.sock')];
    alist = await startFakeAlist(TOKEN, [
      {
        mount_path: '/pikpak',
        driver: 'PikPak',
        addition: { username: 'me@example.com', refresh_token: REAL_RT, refresh_token_method: 'oauth2' },
      },
      {
        mount_path: '/pikpak2',
        driver: 'PikPak',
        addition: { username: 'me@example.com', refresh_token: REAL_RT, refresh_token_method: 'http' },
      },
    ]);
  });

  after(async () => {
    await alist?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('setup prints the fields with the broker’s device id and the secret given', async () => {
    const flag = await runCli([
      'alist',
      'setup',
      '--account',
      'main',
      '--client-secret',
      'pkb_fromflag',
      ...common,
    ]);
    assert.equal(flag.code, 0, flag.stderr);
    assert.match(flag.stdout, new RegExp(`device_id +${DEVICE}`));
    assert.match(flag.stdout, /refresh_token +pkb_fromflag\.main/);
    assert.match(flag.stdout, /HTTPS_PROXY=http:\/\/alist:pkb_fromflag@127\.0\.0\.1:5288/);
    const other = await runCli([
      'alist',
      'setup',
      '--account',
      'main',
      '--client-secret',
      'pkb_other',
      '--bridge',
      '127.0.0.1:6000',
      '--verify-tls',
      ...common,
    ]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stdout, /password +pkb_other\.main/);
    assert.match(other.stdout, /HTTPS_PROXY=http:\/\/alist:pkb_other@127\.0\.0\.1:6000/);
    assert.match(other.stdout, /SSL_CERT_FILE=/);
  });

  it('setup refuses an unknown account and a bridge off loopback (exit 2)', async () => {
    const unknown = await runCli(['alist', 'setup', '--account', 'nope', ...common]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /nope.*main/s);
    const remote = await runCli([
      'alist',
      'setup',
      '--account',
      'main',
      '--bridge',
      '10.0.0.5:5288',
      ...common,
    ]);
    assert.equal(remote.code, 2);
    assert.match(remote.stderr, /loopback only/);
  });

  it('scan reports the causes with fixes, as text and as JSON, without printing secrets', async () => {
    const text = await runCli(['alist', 'scan', '--url', alist.url, '--token', TOKEN, ...common]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Account me@example\.com \(broker account "main"\):/);
    assert.match(text.stdout, /ERROR 2 storages hold PikPak account me@example\.com/);
    assert.match(text.stdout, /refresh_token_method is oauth2/);
    assert.match(text.stdout, /fix: .*alist setup --account main/);
    assert.ok(!text.stdout.includes(REAL_RT));
    const json = await runCli(['alist', 'scan', '--url', alist.url, '--token', TOKEN, '--json', ...common]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      counts: { error: number };
      groups: { findings: { code: string }[] }[];
    };
    assert.ok(report.counts.error >= 3);
    assert.ok(report.groups[0]!.findings.some((f) => f.code === 'oauth2-method'));
    assert.equal(alist.requests.at(-1)!.authorization, TOKEN);
  });

  it('scan says what is wrong with the token or the address', async () => {
    const bad = await runCli(['alist', 'scan', '--url', alist.url, '--token', 'wrong', ...common]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /AList refused the token/);
    const down = await runCli(['alist', 'scan', '--url', 'http://127.0.0.1:1', '--token', TOKEN, ...common]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /could not be reached/);
  });
});
