/**
 * install-service and the daemon check flags the same way, before anything starts or is
 * written (exit 2); the unit they write runs this Node and a script that exist, and
 * systemd-analyze accepts it. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli-process.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** ExecStart's words, unquoted the simple way (the test values need no more). */
function execStart(unit: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(line, unit);
  return line.slice('ExecStart='.length).split(' ');
}

describe('install-service', { skip: process.platform !== 'linux' && 'systemd units are Linux only' }, () => {
  let dir: string;
  let unitDir: string;
  let identity: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-unit-'));
    unitDir = join(dir, 'units');
    identity = join(dir, 'identity.txt');
    // A well-formed age identity (made up: the test never decrypts anything with it).
    await writeFile(
      identity,
      '# created: 2026-01-01\nAGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n',
      { mode: 0o600 },
    );
    env = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run') };
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints a user unit whose ExecStart names this Node and a script that exist', async () => {
    const result = await runCli(
      ['install-service', '--print', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:8765'],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const [node, script, command, ...args] = execStart(result.stdout);
    assert.equal(node, process.execPath);
    assert.ok(existsSync(node!), node);
    assert.ok(existsSync(script!), script);
    assert.match(script!, /bin\/pikpak-token-broker\.js$/);
    assert.equal(command, 'daemon');
    assert.deepEqual(args, ['--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:8765']);
    assert.match(result.stdout, /^WantedBy=default\.target$/m);
    assert.match(result.stdout, /^NoNewPrivileges=yes$/m);
    assert.match(result.stdout, /^LimitNOFILE=8192$/m);
    assert.doesNotMatch(result.stdout, /^User=/m);
  });

  it('refuses every value the daemon refuses, exit 2, and writes nothing', async () => {
    const bad: [string[], RegExp][] = [
      [['--listen', '0.0.0.0:8765'], /--listen "0\.0\.0\.0:8765" refused/],
      [['--listen', '127.0.0.1:99999'], /no valid port/],
      [['--bridge', '192.168.1.2:5288'], /--bridge: .*loopback only/],
      [['--listen', '127.0.0.1:5288', '--bridge', '127.0.0.1:5288'], /same address/],
      [['--notify-command', ' '], /--notify-command is empty/],
      [['--auth-base-url', 'ftp://example.com'], /--auth-base-url must be http/],
      [['--upstream-ca', join(dir, 'missing.pem')], /--upstream-ca .* cannot be read/],
      [['--socket', `/tmp/${'s'.repeat(120)}.sock`], /--socket .* bytes long/],
      [['--secret-store', 'file'], /needs --identity-file/],
      [
        ['--secret-store', 'file', '--identity-file', join(dir, 'nope')],
        /--identity-file .*nope does not exist: create it first with: pikpak-token-broker secret-store init --identity-file .*nope$/m,
      ],
      [['--identity-file', identity], /goes with --secret-store file/],
      [['--system'], /no desktop keychain/],
      [
        ['--system', '--secret-store', 'file', '--identity-file', identity, '--service-user', 'Bad User'],
        /not a user name/,
      ],
      [
        ['--secret-store', 'file', '--identity-file', identity, '--encrypt-credential'],
        /works with --system/,
      ],
      [['--secret-store', 'vault'], /Allowed choices are keychain, file/],
    ];
    for (const [args, message] of bad) {
      const result = await runCli(['install-service', '--unit-dir', unitDir, ...args], { env });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stdout, '', args.join(' '));
    }
    const notAge = join(dir, 'not-age.txt');
    await writeFile(notAge, 'hello\n');
    const result = await runCli(
      ['install-service', '--unit-dir', unitDir, '--secret-store', 'file', '--identity-file', notAge],
      { env },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /holds no age identity/);
    assert.equal(existsSync(unitDir), false, 'no unit folder was made');
  });

  it('the daemon refuses the same values the same way, before it takes the lock', async () => {
    const dataDir = join(dir, 'daemon-data');
    for (const [args, envVars] of [
      [['--listen', '0.0.0.0:8765'], {}],
      [['--bridge', '10.0.0.1:5288'], {}],
      [[], { PIKPAK_BROKER_LISTEN: '0.0.0.0:1' }],
      [[], { PIKPAK_BROKER_NOTIFY_COMMAND: '' }],
      [['--drive-base-url', 'not a url'], {}],
    ] as [string[], Record<string, string>][]) {
      const result = await runCli(['daemon', '--data-dir', dataDir, ...args], {
        env: { ...env, ...envVars },
      });
      assert.equal(result.code, 2, `${args.join(' ')} ${JSON.stringify(envVars)}: ${result.stderr}`);
      assert.match(result.stderr, /^pikpak-token-broker: /);
      assert.equal(existsSync(dataDir), false, 'nothing was created');
    }
  });

  it('the daemon names a --listen port in use, exit 2, and stops cleanly', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(blocker.address() as AddressInfo).port}`;
    try {
      const result = await runCli(
        ['daemon', '--data-dir', join(dir, 'busy'), '--socket', join(dir, 'busy.sock'), '--listen', address],
        { env },
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`pikpak-token-broker: --listen ${address} is in use`));
      assert.equal(existsSync(join(dir, 'busy.sock')), false, 'the socket was closed again');
    } finally {
      blocker.close();
    }
  });

  it('writes the unit, refuses to overwrite it without --force, and says what to do next', async () => {
    const args = ['install-service', '--unit-dir', unitDir, '--data-dir', join(dir, 'data')];
    const first = await runCli(args, { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /systemctl --user daemon-reload && systemctl --user enable --now/);
    assert.match(first.stdout, /loginctl enable-linger/);
    assert.match(first.stdout, /pikpak-token-broker status --data-dir/);
    const unit = await readFile(join(unitDir, 'pikpak-token-broker.service'), 'utf8');
    const again = await runCli(args, { env });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; add --force/);
    assert.equal(await readFile(join(unitDir, 'pikpak-token-broker.service'), 'utf8'), unit);
    const forced = await runCli([...args, '--force', '--listen', '127.0.0.1:8700'], { env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      await readFile(join(unitDir, 'pikpak-token-broker.service'), 'utf8'),
      /--listen 127\.0\.0\.1:8700/,
    );
  });

  it('a system unit: dedicated user, state and runtime folders, hardening, the identity as a credential', async () => {
    const notify = 'curl -d "$PIKPAK_BROKER_MESSAGE" ntfy.sh/my-topic # 100%';
    const result = await runCli(
      [
        'install-service',
        '--print',
        '--system',
        '--secret-store',
        'file',
        '--identity-file',
        identity,
        '--notify-command',
        notify,
      ],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const unit = result.stdout;
    const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
    for (const line of [
      'User=pikpak-broker',
      'StateDirectory=pikpak-token-broker',
      'RuntimeDirectory=pikpak-token-broker',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      `LoadCredential=identity:${identity}`,
      'WantedBy=multi-user.target',
    ])
      assert.ok(unit.split('\n').includes(line), `${line} in\n${unit}`);
    assert.match(
      exec,
      / daemon --data-dir \/var\/lib\/pikpak-token-broker --socket \/run\/pikpak-token-broker\/broker\.sock /,
    );
    assert.match(exec, /--secret-store file/);
    // systemd's own quoting: $$ and %% are a literal $ and %.
    assert.ok(exec.includes('"curl -d \\"$$PIKPAK_BROKER_MESSAGE\\" ntfy.sh/my-topic # 100%%"'), exec);
    assert.ok(!exec.includes(identity), 'the identity never on the command line');
    assert.doesNotMatch(unit, /^Environment=/m);

    const encrypted = await runCli(
      [
        'install-service',
        '--unit-dir',
        unitDir,
        '--force',
        '--system',
        '--secret-store',
        'file',
        '--identity-file',
        identity,
        '--encrypt-credential',
      ],
      { env },
    );
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assert.match(
      encrypted.stdout,
      new RegExp(`systemd-creds encrypt --name=identity ${identity} /etc/credstore\\.encrypted/`),
    );
    // The service user signs in through the running service (which holds the identity): it has no
    // readable identity of its own, and with --encrypt-credential the plain file is kept offline.
    assert.match(
      encrypted.stdout,
      /^ {2}sudo -u pikpak-broker pikpak-token-broker login --data-dir \/var\/lib\/pikpak-token-broker --socket \/run\/pikpak-token-broker\/broker\.sock --account NAME --username USER$/m,
    );
    assert.doesNotMatch(encrypted.stdout, /IDENTITY/);
    assert.match(
      await readFile(join(unitDir, 'pikpak-token-broker.service'), 'utf8'),
      /^LoadCredentialEncrypted=identity:\/etc\/credstore\.encrypted\/pikpak-token-broker-identity\.cred$/m,
    );
  });

  it(
    'systemd-analyze verify accepts the user and the system unit',
    { skip: !hasAnalyze && 'no systemd-analyze' },
    async () => {
      const verifyDir = join(dir, 'verify');
      await mkdir(verifyDir, { recursive: true });
      for (const [name, extra] of [
        ['user', ['--notify-command', 'echo "$PIKPAK_BROKER_EVENT" >> /tmp/x']],
        [
          'system',
          ['--system', '--secret-store', 'file', '--identity-file', identity, '--listen', '127.0.0.1:8765'],
        ],
      ] as const) {
        const result = await runCli(['install-service', '--print', ...extra], { env });
        assert.equal(result.code, 0, result.stderr);
        const path = join(verifyDir, `${name}`, 'pikpak-token-broker.service');
        await mkdir(join(verifyDir, name), { recursive: true });
        await writeFile(path, result.stdout);
        const verify = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
        assert.equal(verify.status, 0, `${name}: ${verify.stderr}`);
        assert.equal(verify.stderr.trim(), '', `${name}: ${verify.stderr}`);
      }
      // And it can fail: a unit naming a script that is not there.
      const broken = join(verifyDir, 'broken.service');
      await writeFile(broken, '[Service]\nExecStart=/nonexistent/node /x.js daemon\n');
      assert.notEqual(spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8' }).status, 0);
      assert.deepEqual((await readdir(verifyDir)).sort(), ['broken.service', 'system', 'user']);
    },
  );
});
