/**
 * `secret-store init`: create the identity for `--secret-store file`.
 * `secret-store migrate --to file|keychain`: move every secret between the keychain and
 * secrets.age (see runtime/secret-migration.ts for why it cannot lose one).
 */
import { rm } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { LockHeldError } from '../../core/errors/index.js';
import type { Logger, SecretStore } from '../../core/ports.js';
import type { RuntimeConfig } from '../../runtime/config.js';
import { openFileSecretStore } from '../../runtime/open-secret-store.js';
import type { MigrateResult, MigrationStep } from '../../runtime/secret-migration.js';
import { syncDirectory } from '../../storage/durable-write.js';
import { acquireInstanceLock } from '../../storage/instance-lock.js';
import { KeyringSecretStore } from '../../storage/keyring-secret-store.js';
import { ensurePrivateDir } from '../../storage/paths.js';
import { BrokerCommand } from '../broker-command.js';
import { addCommonOptions, SECRET_STORE_KINDS, type SecretStoreKind } from '../common-options.js';
import { contextOf } from '../context.js';
import { CliError, EXIT } from '../exit-codes.js';

export function secretStoreCommand(): Command {
  const group = new BrokerCommand('secret-store').description(
    'the file secret store for machines without a keychain: create its identity, move secrets between stores',
  );
  group.addCommand(initCommand());
  group.addCommand(migrateCommand());
  return group;
}

function initCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('init').description(
      'create an age identity (X25519 private key, mode 0600) for --secret-store file and print its public recipient; never overwrites a file',
    ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf(command);
    const path = ctx.options.identityFile;
    if (!path)
      throw new CliError(
        'secret-store init needs --identity-file PATH: where to create the identity',
        EXIT.usage,
      );
    const { createIdentityFile } = await import('../../storage/age-identity.js');
    const identity = await createIdentityFile(path);
    process.stderr.write(
      `Created the identity ${identity.path} (keep it private, and back it up: without it secrets.age cannot be opened).\n` +
        `Use it with: pikpak-token-broker daemon --secret-store file --identity-file ${identity.path}\n` +
        `(or PIKPAK_BROKER_SECRET_STORE=file PIKPAK_BROKER_IDENTITY_FILE=${identity.path}; under systemd: LoadCredential=identity:${identity.path}).\n` +
        'Its public recipient:\n',
    );
    process.stdout.write(`${identity.recipient}\n`);
  });
}

function migrateCommand(): Command {
  return addCommonOptions(
    new BrokerCommand('migrate')
      .description(
        'move every secret (refresh tokens, passwords, the bridge CA key) to the other store: write, read back, verify, then delete from the source; an interrupted run resumes when started again. Stop the broker first.',
      )
      .addOption(
        new Option('--to <store>', 'the store to move the secrets to')
          .choices(SECRET_STORE_KINDS)
          .makeOptionMandatory(),
      ),
  ).action(async (_opts, command: Command) => {
    const ctx = contextOf<{ to: SecretStoreKind }>(command);
    const to = ctx.options.to;
    const result = await runSecretStoreMigration(ctx.config, to, ctx.log);
    const from = to === 'file' ? 'keychain' : 'file';
    const names = result.moved.map((r) => `${r.account}/${r.kind}`).join(', ');
    process.stdout.write(
      `${result.resumed ? 'Finished the interrupted migration: ' : ''}moved ${result.moved.length} secret(s) from the ${from} store to the ${to} store${names ? ` (${names})` : ''}.\n` +
        `From now on run every command with --secret-store ${to}${to === 'file' ? ' --identity-file PATH (or PIKPAK_BROKER_SECRET_STORE=file)' : ' (the default)'}; ` +
        `the broker refuses to start with the ${from} store while the secrets are in the ${to} store.\n`,
    );
  });
}

/**
 * The migration as the CLI runs it: under the instance lock (never beside a running broker),
 * with the real stores. `onStep` is for the crash tests, which kill the process at each step.
 */
export async function runSecretStoreMigration(
  config: RuntimeConfig,
  to: SecretStoreKind,
  log: Logger,
  onStep?: (step: MigrationStep) => void | Promise<void>,
): Promise<MigrateResult> {
  // Loaded when a migration runs: every other command builds this one's options, and the age,
  // zod and settings code would cost them ~0.3 s.
  const [
    { MigrationConflictError, migrateSecrets },
    { loadIdentity, locateIdentity },
    { AgeFileSecretStore },
    { FileSettingsStore },
  ] = await Promise.all([
    import('../../runtime/secret-migration.js'),
    import('../../storage/age-identity.js'),
    import('../../storage/age-file-secret-store.js'),
    import('../../storage/file-settings-store.js'),
  ]);
  await ensurePrivateDir(config.dataDir);
  let lock;
  try {
    lock = await acquireInstanceLock(config.dataDir, { command: 'secret-store migrate' });
  } catch (error) {
    if (error instanceof LockHeldError)
      throw new CliError(
        `${error.message.replace(/\.$/, '')}. Stop the broker before moving its secrets (e.g. systemctl --user stop pikpak-token-broker), then run this again.`,
        EXIT.lockHeld,
      );
    throw error;
  }
  try {
    const from: SecretStoreKind = to === 'file' ? 'keychain' : 'file';
    const settings = await new FileSettingsStore(config.dataDir).load();
    const keychain = new KeyringSecretStore({ service: config.keychainService });
    const file = await openFileSecretStore({ ...config, secretStore: 'file' });
    // The read-back goes through a second instance, which decrypts the file from disk again.
    const verifier: SecretStore =
      to === 'file'
        ? await AgeFileSecretStore.open({
            dataDir: config.dataDir,
            identity: await loadIdentity(locateIdentity(config.identityFile)),
          })
        : keychain;
    const result = await migrateSecrets({
      dataDir: config.dataDir,
      from,
      to,
      source: from === 'file' ? file : keychain,
      target: to === 'file' ? file : keychain,
      verifier,
      accounts: settings.accounts.map((a) => a.name),
      onStep,
    }).catch((error: unknown) => {
      if (error instanceof MigrationConflictError) throw new CliError(error.message, EXIT.usage);
      throw error;
    });
    // Moved to the keychain and nothing left in the file: remove it, so that no stale secrets.age
    // makes a later keychain broker suspect the secrets are in it.
    if (to === 'keychain' && (await file.list()).length === 0) {
      await rm(file.path, { force: true });
      await syncDirectory(config.dataDir);
    }
    log.info({ from, to, moved: result.moved.length }, 'secrets migrated');
    return result;
  } finally {
    await lock.release();
  }
}
