import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAuthority } from './http-util.js';

describe('parseAuthority', () => {
  it('reads host:port and [v6]:port, lower-casing the host', () => {
    assert.deepEqual(parseAuthority('User.MyPikPak.net:443'), { host: 'user.mypikpak.net', port: 443 });
    assert.deepEqual(parseAuthority('[::1]:8080'), { host: '::1', port: 8080 });
  });

  it('drops the one trailing dot of an absolute name', () => {
    assert.deepEqual(parseAuthority('user.mypikpak.net.:443'), { host: 'user.mypikpak.net', port: 443 });
  });

  it('refuses empty labels, also where dropping one trailing dot would hide them', () => {
    for (const value of ['localhost..:443', 'user.mypikpak.net..:443', 'a..b:443', '..:443', '.:443'])
      assert.equal(parseAuthority(value), undefined, value);
  });
});
