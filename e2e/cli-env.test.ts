/** Every flag --foo-bar also reads PIKPAK_BROKER_FOO_BAR: proven on the real CLI, as users run it. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli-process.js';

describe('CLI environment variables', () => {
  let dir: string;
  const env = (extra: Record<string, string>): Record<string, string> => ({
    HOME: dir,
    XDG_RUNTIME_DIR: join(dir, 'run'),
    // No keychain here: status still works and says so.
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}`,
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkb-env-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a value flag from its variable (PIKPAK_BROKER_DATA_DIR)', async () => {
    const dataDir = join(dir, 'from-env');
    const result = await runCli(['status', '--json'], { env: env({ PIKPAK_BROKER_DATA_DIR: dataDir }) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      (JSON.parse(result.stdout) as { settingsPath: string }).settingsPath,
      join(dataDir, 'settings.json'),
    );
  });

  it('lets the flag win over the variable', async () => {
    const flagDir = join(dir, 'from-flag');
    const result = await runCli(['status', '--json', '--data-dir', flagDir], {
      env: env({ PIKPAK_BROKER_DATA_DIR: join(dir, 'from-env') }),
    });
    assert.equal(
      (JSON.parse(result.stdout) as { settingsPath: string }).settingsPath,
      join(flagDir, 'settings.json'),
    );
  });

  it('reads yes/no variables as people write them (PIKPAK_BROKER_JSON)', async () => {
    const on = await runCli(['status', '--data-dir', dir], { env: env({ PIKPAK_BROKER_JSON: 'yes' }) });
    assert.doesNotThrow(() => JSON.parse(on.stdout));
    const off = await runCli(['status', '--data-dir', dir], { env: env({ PIKPAK_BROKER_JSON: '0' }) });
    assert.match(off.stdout, /^Broker: /);
    const bad = await runCli(['status', '--data-dir', dir], { env: env({ PIKPAK_BROKER_JSON: 'maybe' }) });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PIKPAK_BROKER_JSON=maybe/);
  });

  it('checks variables like flags (choices) and fills required options from them', async () => {
    const bad = await runCli(['status', '--data-dir', dir], {
      env: env({ PIKPAK_BROKER_LOG_FORMAT: 'xml' }),
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PIKPAK_BROKER_LOG_FORMAT/);
    // --account is required by logout; the variable satisfies it (and the account is unknown: 2).
    const logout = await runCli(['logout', '--data-dir', dir], {
      env: env({ PIKPAK_BROKER_ACCOUNT: 'nobody' }),
    });
    assert.equal(logout.code, 2);
    assert.match(logout.stderr, /No account named "nobody"/);
  });
});
