import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from '../service/bearer.js';
import type { Client } from '../service/client-registry.js';
import { classifyAuthPath, loosePath, rawPathOf } from './auth-host.js';
import { authenticateProxy, basicPasswordOf, stillAuthorized, type ProxyAuthDeps } from './proxy-auth.js';

const basic = (userAndPassword: string): string => `Basic ${Buffer.from(userAndPassword).toString('base64')}`;

describe('bridge proxy credentials: parsing', () => {
  it('takes the password of a Basic credential, whatever the user name', () => {
    assert.equal(basicPasswordOf(basic('alist:pkb_secret')), 'pkb_secret');
    assert.equal(basicPasswordOf(basic(':pkb_secret')), 'pkb_secret', 'an empty user name');
    assert.equal(basicPasswordOf(basic('a:b:c')), 'b:c', 'the first colon splits (RFC 7617)');
    assert.equal(
      basicPasswordOf(`bAsIc  ${Buffer.from('u:p').toString('base64')} `),
      'p',
      'scheme in any case',
    );
  });

  it('refuses anything else', () => {
    for (const header of [
      undefined,
      '',
      'Basic',
      'Basic ',
      basic('alist:'), // no password
      basic('pkb_secret'), // no colon
      `Bearer ${Buffer.from('alist:pkb_secret').toString('base64')}`,
      'Digest username="alist"',
      `Basic ${'A'.repeat(2000)}`,
      'Basic a b',
    ])
      assert.equal(basicPasswordOf(header), undefined, String(header));
  });
});

describe('bridge proxy credentials: checking against the client registry', () => {
  const client: Client = { name: 'alist', accounts: ['main'], createdAt: 0, lastUsedAt: undefined };
  const secret = 'pkb_the-real-secret';
  const admin = 'pkb_admin_the-admin';
  let known = new Map<string, Client>([[digestOf(secret).toString('hex'), client]]);
  const deps: ProxyAuthDeps = {
    clients: { authenticateDigest: (digest) => known.get(digest.toString('hex')) },
    isAdmin: (digest) => digest.equals(digestOf(admin)),
  };

  it('names the client of a valid secret, and says why otherwise', () => {
    const ok = authenticateProxy(basic(`alist:${secret}`), deps);
    assert.ok(ok.ok);
    assert.equal(ok.proxy.client.name, 'alist');
    assert.equal(ok.proxy.secret.reveal(), secret);
    assert.equal(String(ok.proxy.secret), '[redacted]');
    assert.deepEqual(authenticateProxy(undefined, deps), { ok: false, reason: 'missing' });
    assert.deepEqual(authenticateProxy('Bearer x', deps), { ok: false, reason: 'malformed' });
    assert.deepEqual(authenticateProxy(basic('alist:pkb_other'), deps), { ok: false, reason: 'unknown' });
    assert.deepEqual(authenticateProxy(basic(`alist:${admin}`), deps), { ok: false, reason: 'admin' });
  });

  it('sees a revocation on the next check: nothing is cached', () => {
    const ok = authenticateProxy(basic(`x:${secret}`), deps);
    assert.ok(ok.ok);
    assert.equal(stillAuthorized(ok.proxy, deps), true);
    known = new Map();
    assert.equal(stillAuthorized(ok.proxy, deps), false);
    assert.deepEqual(authenticateProxy(basic(`x:${secret}`), deps), { ok: false, reason: 'unknown' });
  });
});

describe('bridge auth-host paths', () => {
  it('answers exactly the token and sign-in paths, with any query', () => {
    for (const target of [
      '/v1/auth/token',
      '/v1/auth/signin',
      '/v1/auth/token?client_id=YNxT9w7GMdWvEOKa',
      'https://user.mypikpak.net/v1/auth/token?client_id=x',
      'http://user.mypikpak.com/v1/auth/signin',
    ])
      assert.equal(classifyAuthPath(target), 'answer', target);
  });

  it('refuses other spellings of them', () => {
    for (const target of [
      '/v1/auth/token;x',
      '/v1/auth;x/token',
      '/V1/AUTH/TOKEN',
      '/v1/auth/%74oken',
      '/v1/auth%2ftoken',
      '/v1/auth/%2e/token',
      '/v1/auth/%252e%252e/auth/signin',
      '/v1/x/../auth/token',
      '/v1//auth/token',
      '/v1/auth/token/',
      '/v1/auth/token.',
      '/v1/auth/token%00',
      '/v1/auth\\token',
      '//evil/v1/auth/token', // a URL parser reads it as host "evil", path /v1/auth/token
      'https://user.mypikpak.net//v1/auth/token',
    ])
      assert.equal(classifyAuthPath(target), 'refuse', target);
  });

  it('forwards everything else', () => {
    for (const target of [
      '/v1/shield/captcha/init?client_id=x',
      '/v1/user/me',
      '/v1/auth/tokens',
      '/v1/auth/token2',
      '/v1/auth/verification',
      '/v1/auth/token-x',
      '/',
      '/v1/auth/../user/me',
    ])
      assert.equal(classifyAuthPath(target), 'forward', target);
  });

  it('reads the raw path before any URL parser resolved it, and the loose form of it', () => {
    assert.equal(rawPathOf('/a/../b?c=/d'), '/a/../b');
    assert.equal(rawPathOf('https://host:443/x;y?z'), '/x;y');
    assert.equal(loosePath('/A//b/./c/../d;p/e.'), '/a/b/d/e');
    assert.equal(loosePath('/../../x'), '/x');
    assert.equal(loosePath('/x/%2e%2e/%2E%2e%2fy'), '/y');
  });
});
