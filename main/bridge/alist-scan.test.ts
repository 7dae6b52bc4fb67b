import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AlistAdminError, listAlistStorages } from './alist-admin.js';
import { analyseStorages, renderScan, type FindingCode, type ScanReport } from './alist-scan.js';
import { startFakeAlist, type FakeAlist, type FakeStorage } from './testing/fake-alist.js';

const TOKEN = 'alist-admin-token-123';
const REAL_RT = 'os.Zb3w-real-refresh-token-value';
const REAL_PW = 'the-real-pikpak-password';
const SECRET = 'pkb_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const BRIDGE = '127.0.0.1:5288';
const brokerAccounts = [
  { name: 'main', username: 'me@example.com', deviceId: 'aaaabbbbccccddddeeeeffff00001111' },
  { name: 'other', username: 'other@example.com', deviceId: '22223333444455556666777788889999' },
];

const pikpak = (
  mount: string,
  addition: Record<string, unknown>,
  extra: Partial<FakeStorage> = {},
): FakeStorage => ({
  mount_path: mount,
  driver: 'PikPak',
  addition: {
    root_folder_id: '',
    platform: 'android',
    captcha_token: '',
    disable_media_link: true,
    ...addition,
  },
  ...extra,
});

/** The setups that lock AList out, all in one AList. */
const LOCKED_OUT: FakeStorage[] = [
  pikpak('/pikpak', {
    username: 'me@example.com',
    password: '',
    refresh_token: REAL_RT,
    refresh_token_method: 'http',
  }),
  pikpak(
    '/pikpak-oauth',
    { username: 'me@example.com', password: REAL_PW, refresh_token: REAL_RT, refresh_token_method: 'oauth2' },
    {
      status:
        'failed init storage: oauth2: "invalid_grant" "invalid refresh token, may be has been refreshed by other process"',
    },
  ),
  // PikPakShare of AList ≤ v3.2x signed in with the account too.
  {
    mount_path: '/old-share',
    driver: 'PikPakShare',
    addition: { username: 'Me@Example.com', password: REAL_PW, share_id: 'VN1', share_pwd: '' },
  },
  // PikPakShare of recent versions: a share link, no account.
  {
    mount_path: '/share',
    driver: 'PikPakShare',
    addition: { share_id: 'VN2', share_pwd: '', platform: 'web' },
  },
  { mount_path: '/local', driver: 'Local', addition: { root_folder_path: '/srv' } },
  pikpak('/other', {
    username: 'other@example.com',
    password: `${SECRET}.other`,
    refresh_token: `${SECRET}.other`,
    refresh_token_method: 'http',
    device_id: 'not-the-brokers-device',
  }),
];

/** Two storages of one account, both behind the bridge and set as `alist setup` says. */
const CLEAN: FakeStorage[] = [
  pikpak('/a', {
    username: 'me@example.com',
    password: `${SECRET}.main`,
    refresh_token: `${SECRET}.main`,
    refresh_token_method: 'http',
    device_id: brokerAccounts[0]!.deviceId,
  }),
  pikpak('/b', {
    username: 'me@example.com',
    password: `${SECRET}.main`,
    refresh_token: `${SECRET}.main`,
    refresh_token_method: 'http',
    device_id: brokerAccounts[0]!.deviceId,
  }),
];

async function scan(alist: FakeAlist, accounts = brokerAccounts): Promise<ScanReport> {
  const list = await listAlistStorages({ url: alist.url, token: TOKEN });
  return analyseStorages({
    alistUrl: alist.url,
    totalStorages: list.total,
    storages: list.storages,
    brokerAccounts: accounts,
    bridgeAddress: BRIDGE,
  });
}

const codes = (report: ScanReport, username: string) =>
  report.groups
    .find((g) => g.username.toLowerCase() === username)!
    .findings.map((f) => `${f.severity}:${f.code}:${f.storages.join(',')}`)
    .sort();

describe('alist scan: reads AList’s admin API', () => {
  let alist: FakeAlist;
  before(async () => (alist = await startFakeAlist(TOKEN, LOCKED_OUT)));
  after(() => alist.close());

  it('sends the token as AList expects and keeps only PikPak storages, secrets reduced to their kind', async () => {
    const list = await listAlistStorages({ url: `${alist.url}/`, token: TOKEN });
    assert.equal(alist.requests.at(-1)!.authorization, TOKEN);
    assert.match(alist.requests.at(-1)!.url, /^\/api\/admin\/storage\/list\?page=1&per_page=\d+$/);
    assert.equal(list.total, 6);
    assert.deepEqual(
      list.storages.map((s) => [s.mountPath, s.driver, s.refreshToken, s.password]),
      [
        ['/pikpak', 'PikPak', 'pikpak', 'empty'],
        ['/pikpak-oauth', 'PikPak', 'pikpak', 'pikpak'],
        ['/old-share', 'PikPakShare', 'empty', 'pikpak'],
        ['/share', 'PikPakShare', 'empty', 'empty'],
        ['/other', 'PikPak', 'client-secret', 'client-secret'],
      ],
    );
    assert.equal(list.storages.at(-1)!.brokerAccount, 'other');
    const json = JSON.stringify(list);
    for (const secret of [REAL_RT, REAL_PW, SECRET])
      assert.ok(!json.includes(secret), 'a secret left the reader');
  });

  it('refuses a wrong token clearly', async () => {
    await assert.rejects(listAlistStorages({ url: alist.url, token: 'wrong' }), (error: unknown) => {
      assert.ok(error instanceof AlistAdminError);
      assert.equal(error.kind, 'unauthorized');
      assert.match(error.message, /AList refused the token \(401/);
      return true;
    });
  });

  it('says when the address is not AList or not reachable', async () => {
    await assert.rejects(listAlistStorages({ url: `${alist.url}/nope`, token: TOKEN }), {
      kind: 'unexpected',
    });
    await assert.rejects(listAlistStorages({ url: 'http://127.0.0.1:1', token: TOKEN }), {
      kind: 'unreachable',
    });
  });

  it('reads every page', async () => {
    const many = Array.from({ length: 230 }, (_, i) =>
      pikpak(`/p${i}`, {
        username: `u${i}@example.com`,
        refresh_token: REAL_RT,
        refresh_token_method: 'http',
      }),
    );
    const big = await startFakeAlist(TOKEN, many);
    try {
      const list = await listAlistStorages({ url: big.url, token: TOKEN });
      assert.equal(list.storages.length, 230);
      assert.equal(new Set(list.storages.map((s) => s.mountPath)).size, 230);
      assert.equal(big.requests.length, 3);
    } finally {
      await big.close();
    }
  });
});

describe('alist scan: names every cause of the lock-out, with a fix', () => {
  let locked: FakeAlist;
  let clean: FakeAlist;
  before(async () => {
    locked = await startFakeAlist(TOKEN, LOCKED_OUT);
    clean = await startFakeAlist(TOKEN, CLEAN);
  });
  after(async () => {
    await locked.close();
    await clean.close();
  });

  it('groups storages by account (case-insensitively) and finds each cause', async () => {
    const report = await scan(locked);
    assert.deepEqual(
      report.groups.map((g) => [g.username, g.brokerAccount, g.storages.length]),
      [
        ['me@example.com', 'main', 3],
        ['other@example.com', 'other', 1],
        ['(share links, no account)', undefined, 1],
      ],
    );
    assert.deepEqual(codes(report, 'me@example.com'), [
      'error:locked-out:/pikpak-oauth',
      'error:not-behind-bridge:/old-share',
      'error:not-behind-bridge:/pikpak',
      'error:not-behind-bridge:/pikpak-oauth',
      'error:oauth2-method:/pikpak-oauth',
      'error:shared-account:/pikpak,/pikpak-oauth,/old-share',
      'warning:real-password-stored:/old-share',
      'warning:real-password-stored:/pikpak-oauth',
    ]);
    assert.deepEqual(codes(report, 'other@example.com'), ['warning:device-id-mismatch:/other']);
    assert.deepEqual(report.counts, { error: 6, warning: 3, info: 1 });
  });

  it('gives each finding a fix that names the account and the bridge', async () => {
    const report = await scan(locked);
    const me = report.groups[0]!;
    const byCode = (code: FindingCode) => me.findings.find((f) => f.code === code)!;
    assert.match(byCode('shared-account').fix, /alist setup --account main/);
    assert.match(byCode('shared-account').fix, /HTTPS_PROXY=http:\/\/alist:SECRET@127\.0\.0\.1:5288/);
    assert.match(byCode('oauth2-method').fix, /refresh_token_method to http/);
    assert.match(byCode('locked-out').fix, /save the storage again/);
    const other = report.groups[1]!.findings[0]!;
    assert.match(other.fix, /set device_id to 22223333444455556666777788889999/);
  });

  it('tells the user to sign the account in when the broker has none', async () => {
    const report = await scan(locked, []);
    const me = report.groups[0]!;
    assert.equal(me.brokerAccount, undefined);
    assert.match(
      me.findings.find((f) => f.code === 'shared-account')!.fix,
      /pikpak-token-broker login --account NAME --username me@example\.com/,
    );
    assert.ok(report.groups[1]!.findings.some((f) => f.code === 'no-broker-account'));
  });

  it('finds nothing wrong when every storage of the account is behind the bridge', async () => {
    const report = await scan(clean);
    assert.deepEqual(codes(report, 'me@example.com'), ['info:shared-account-bridged:/a,/b']);
    assert.deepEqual(report.counts, { error: 0, warning: 0, info: 1 });
    assert.match(renderScan(report), /No cause of the invalid_grant lock-out found\./);
  });

  it('warns about oauth2 even behind the bridge (Go’s default client verifies TLS)', async () => {
    const alist = await startFakeAlist(TOKEN, [
      pikpak('/x', {
        username: 'me@example.com',
        refresh_token: SECRET,
        refresh_token_method: 'oauth2',
        device_id: brokerAccounts[0]!.deviceId,
      }),
    ]);
    try {
      const report = await scan(alist);
      assert.deepEqual(codes(report, 'me@example.com'), ['warning:oauth2-needs-ca:/x']);
    } finally {
      await alist.close();
    }
  });

  it('flags the broker’s admin credential stored in AList', async () => {
    const alist = await startFakeAlist(TOKEN, [
      pikpak('/x', {
        username: 'me@example.com',
        refresh_token: 'pkb_admin_abc',
        refresh_token_method: 'http',
      }),
    ]);
    try {
      const report = await scan(alist);
      assert.ok(codes(report, 'me@example.com').includes('error:admin-credential:/x'));
    } finally {
      await alist.close();
    }
  });

  it('renders a report for people without any secret in it', async () => {
    const report = await scan(locked);
    const text = renderScan(report);
    assert.match(text, /^AList http:\/\/127\.0\.0\.1:\d+: 6 storage\(s\), 5 PikPak\/PikPakShare\./);
    assert.match(text, /Account me@example\.com \(broker account "main"\):/);
    assert.match(text, /\/pikpak-oauth {2}\[PikPak\] {2}method oauth2 {2}refreshes by itself/);
    assert.match(text, /ERROR 3 storages hold PikPak account me@example\.com and each refreshes/);
    assert.match(text, /6 error\(s\), 3 warning\(s\)/);
    for (const output of [text, JSON.stringify(report)])
      for (const secret of [REAL_RT, REAL_PW, SECRET])
        assert.ok(!output.includes(secret), 'a secret in the report');
  });
});
