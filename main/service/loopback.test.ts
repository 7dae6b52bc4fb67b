import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidListenAddressError } from './errors/index.js';
import { isAllowedHost, parseListenAddress, socketHostNames } from './loopback.js';

describe('parseListenAddress', () => {
  it('accepts loopback addresses only', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListenAddress('127.3.2.1:0'), { host: '127.3.2.1', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:9'), { host: '::1', port: 9 });
    assert.deepEqual(parseListenAddress('localhost:65535'), { host: '127.0.0.1', port: 65535 });
    assert.deepEqual(parseListenAddress('LOCALHOST:1'), { host: '127.0.0.1', port: 1 });
  });

  it('refuses everything else with a typed error that says why', () => {
    const cases: [string, InvalidListenAddressError['problem']][] = [
      ['0.0.0.0:8080', 'not-loopback'],
      ['192.168.1.1:8080', 'not-loopback'],
      ['[::]:8080', 'not-loopback'],
      ['[::ffff:192.168.1.1]:80', 'not-loopback'],
      ['example.com:80', 'not-loopback'],
      ['128.0.0.1:80', 'not-loopback'],
      ['127.0.0.1', 'syntax'],
      ['::1:80', 'syntax'],
      ['[localhost]:80', 'syntax'],
      ['', 'syntax'],
      ['127.0.0.1:', 'port'],
      ['127.0.0.1:65536', 'port'],
      ['127.0.0.1:-1', 'port'],
      ['127.0.0.1:80a', 'port'],
    ];
    for (const [value, problem] of cases)
      assert.throws(
        () => parseListenAddress(value),
        (e: unknown) => e instanceof InvalidListenAddressError && e.problem === problem,
        value,
      );
  });
});

describe('isAllowedHost', () => {
  it('allows a missing Host and loopback names with any port', () => {
    for (const host of [
      undefined,
      'localhost',
      'localhost:1',
      'LocalHost',
      '127.0.0.1',
      '127.255.0.9:80',
      '[::1]',
      '[::1]:443',
    ])
      assert.equal(isAllowedHost(host), true, String(host));
  });

  it('refuses other names, lookalikes and non-loopback addresses', () => {
    for (const host of [
      '',
      'evil.example',
      'localhost.evil.example',
      'evil.localhost',
      '127.0.0.1.nip.io',
      '127.0.0.256',
      '0.0.0.0',
      '10.0.0.1:80',
      '[::2]',
      '[::1].evil',
      'localhost:',
      'localhost:80:80',
    ])
      assert.equal(isAllowedHost(host), false, host);
  });

  it('allows the socket path as Host only where it is given', () => {
    const names = socketHostNames('/run/user/1000/pikpak-token-broker/broker.sock');
    assert.equal(isAllowedHost('/run/user/1000/pikpak-token-broker/broker.sock', names), true);
    assert.equal(isAllowedHost('%2Frun%2Fuser%2F1000%2Fpikpak-token-broker%2Fbroker.sock', names), true);
    assert.equal(isAllowedHost('%2frun%2fuser%2f1000%2fpikpak-token-broker%2fbroker.sock', names), true);
    assert.equal(isAllowedHost('/run/user/1000/pikpak-token-broker/broker.sock'), false);
    assert.equal(isAllowedHost('/other.sock', names), false);
  });
});
