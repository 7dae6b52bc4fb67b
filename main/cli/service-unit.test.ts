import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { launchdPlist, systemdUnit, systemdWord } from './service-unit.js';

describe('systemdWord', () => {
  it('leaves plain words alone and quotes the rest the way systemd unquotes them', () => {
    assert.equal(systemdWord('/usr/bin/node'), '/usr/bin/node');
    assert.equal(systemdWord('127.0.0.1:8765'), '127.0.0.1:8765');
    assert.equal(systemdWord('a b'), '"a b"');
    assert.equal(systemdWord('say "hi"'), '"say \\"hi\\""');
    assert.equal(systemdWord('back\\slash'), '"back\\\\slash"');
    // $ would be expanded from the unit's environment, % is a specifier.
    assert.equal(systemdWord('$HOME'), '"$$HOME"');
    assert.equal(systemdWord('100%'), '"100%%"');
    assert.equal(systemdWord('echo "$X" 5%'), '"echo \\"$$X\\" 5%%"');
  });
});

describe('systemdUnit', () => {
  it('a user unit has no User=, no system hardening that needs privileges, and the credential when asked', () => {
    const unit = systemdUnit({
      exec: ['/usr/bin/node', '/opt/b.js', 'daemon', '--secret-store', 'file'],
      identity: { path: '/home/me/id.txt', encrypted: false },
    });
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/b\.js daemon --secret-store file$/m);
    assert.match(unit, /^LoadCredential=identity:\/home\/me\/id\.txt$/m);
    assert.doesNotMatch(unit, /^(User|ProtectSystem|StateDirectory)=/m);
    assert.match(unit, /^WantedBy=default\.target$/m);
  });

  it('a system unit runs as its user with its folders and keeps /home readable only when needed', () => {
    const base = { exec: ['/usr/bin/node', '/opt/b.js', 'daemon'], systemUser: 'pikpak-broker' };
    const closed = systemdUnit(base);
    assert.match(closed, /^User=pikpak-broker$/m);
    assert.match(closed, /^ProtectHome=yes$/m);
    assert.doesNotMatch(closed, /^ReadWritePaths=/m);
    const open = systemdUnit({ ...base, needsHome: true, extraWritable: ['/srv/pkb'] });
    assert.match(open, /^ProtectHome=read-only$/m);
    assert.match(open, /^ReadWritePaths=\/srv\/pkb$/m);
    assert.match(
      systemdUnit({ ...base, identity: { path: '/etc/c.cred', encrypted: true } }),
      /^LoadCredentialEncrypted=identity:\/etc\/c\.cred$/m,
    );
  });
});

describe('launchdPlist', () => {
  it('escapes XML in arguments', () => {
    assert.match(launchdPlist(['/n', 'a<b&c']), /<string>a&lt;b&amp;c<\/string>/);
  });
});
