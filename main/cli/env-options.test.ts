import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command, Option } from 'commander';
import { envNameFor } from './env-options.js';
import { buildProgram } from './program.js';

function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

describe('CLI flags and environment variables', () => {
  it('gives every flag of every command its PIKPAK_BROKER_ variable', () => {
    const program = buildProgram();
    let count = 0;
    for (const command of allCommands(program)) {
      for (const option of command.options as Option[]) {
        if (option.long === '--version') continue;
        count += 1;
        const expected = `PIKPAK_BROKER_${option
          .long!.replace(/^--(no-)?/, '')
          .replace(/-/g, '_')
          .toUpperCase()}`;
        assert.equal(option.envVar, expected, `${command.name()} ${option.long}`);
      }
    }
    assert.ok(count > 20, `only ${count} options found`);
  });

  it('derives names from the long flag', () => {
    const option = { long: '--keychain-service' } as Option;
    assert.equal(envNameFor(option), 'PIKPAK_BROKER_KEYCHAIN_SERVICE');
  });
});
