/**
 * --notify-command through the daemon: a real /bin/sh command hears reauth-required when PikPak
 * rejects the stored token, and recovered after the sign-in, with no secret in what it gets.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeAuth } from './core/testing/fake-auth.js';
import { FakeSecretStore } from './core/testing/fake-secret-store.js';
import { silentLogger } from './core/ports.js';
import { Secret } from './core/secret.js';
import { startDaemon } from './daemon.js';
import { MemorySettingsStore } from './service/testing/memory-settings-store.js';

async function waitForLines(path: string, count: number): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    if (existsSync(path)) {
      const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
      if (lines.length >= count) return lines;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${count} lines in ${path}`);
}

describe('daemon --notify-command', () => {
  it('runs on reauth-required and on recovered, with the event, account and message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkb-notify-'));
    const out = join(dir, 'events');
    const auth = new FakeAuth();
    const secrets = new FakeSecretStore();
    // A token PikPak never issued: the start-up refresh gets invalid_grant.
    const deadToken = 'rt-never-issued-canary';
    secrets.entries.set('main/refresh-token', new Secret(deadToken));
    const settings = new MemorySettingsStore();
    await settings.save({
      version: 1,
      accounts: [
        {
          name: 'main',
          username: 'user@example.com',
          platform: 'android',
          deviceId: 'd'.repeat(32),
          rememberPassword: false,
          createdAt: 0,
        },
      ],
    });
    const daemon = await startDaemon(
      {
        dataDir: join(dir, 'data'),
        socketPath: join(dir, 'run', 'broker.sock'),
        keychainService: 'unused',
        upstream: { authBaseUrl: 'http://127.0.0.1:9', driveBaseUrl: 'http://127.0.0.1:9' },
      },
      silentLogger,
      {
        notifyCommand: `printf '%s|%s|%s\\n' "$PIKPAK_BROKER_EVENT" "$PIKPAK_BROKER_ACCOUNT" "$PIKPAK_BROKER_MESSAGE" >> '${out}'`,
        overrides: { auth, secrets, settings },
      },
    );
    try {
      assert.equal(daemon.broker.account('main').state.type, 'reauth-required');
      const [first] = await waitForLines(out, 1);
      assert.match(
        first!,
        /^reauth-required\|main\|PikPak account "main" needs a new sign-in: .*login --account main$/,
      );
      await daemon.broker.login({
        account: 'main',
        username: 'user@example.com',
        password: new Secret('right-password'),
        platform: 'android',
        rememberPassword: false,
      });
      const lines = await waitForLines(out, 2);
      assert.equal(
        lines[1],
        'recovered|main|PikPak account "main" is healthy again (it needed a new sign-in).',
      );
      const text = lines.join('\n');
      assert.ok(
        !text.includes(deadToken) && !text.includes('right-password'),
        'no secret reaches the command',
      );
      for (const issued of auth.issued) assert.ok(!text.includes(issued.token));
    } finally {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
