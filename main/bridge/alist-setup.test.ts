import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alistSetup, renderAlistSetup, SECRET_PLACEHOLDER, type AlistSetupInput } from './alist-setup.js';

const input: AlistSetupInput = {
  account: {
    name: 'main',
    username: 'me@example.com',
    platform: 'web',
    deviceId: 'cc884c5dd5755d8c21e8c12b2b7ce6a2',
  },
  bridgeAddress: '127.0.0.1:5288',
  clientSecret: 'pkb_abcdef',
  verifyTls: false,
};

describe('alist setup', () => {
  it('sets the storage to the client secret, method http and the broker’s device id', () => {
    const setup = alistSetup(input);
    assert.deepEqual(setup.storage, {
      driver: 'PikPak',
      username: 'me@example.com',
      password: 'pkb_abcdef.main',
      platform: 'web',
      refresh_token: 'pkb_abcdef.main',
      refresh_token_method: 'http',
      captcha_token: '',
      device_id: 'cc884c5dd5755d8c21e8c12b2b7ce6a2',
    });
    assert.deepEqual(setup.environment, { HTTPS_PROXY: 'http://alist:pkb_abcdef@127.0.0.1:5288' });
    assert.equal(setup.secretIncluded, true);
  });

  it('adds SSL_CERT_FILE only when AList verifies TLS', () => {
    const verifying = alistSetup({ ...input, verifyTls: true });
    assert.deepEqual(verifying.environment, {
      HTTPS_PROXY: 'http://alist:pkb_abcdef@127.0.0.1:5288',
      SSL_CERT_FILE: '/etc/alist/pikpak-broker-ca.pem',
    });
    assert.match(verifying.dockerCompose, /- SSL_CERT_FILE=\/opt\/alist\/data\/pikpak-broker-ca\.pem/);
    assert.doesNotMatch(alistSetup(input).dockerCompose, /SSL_CERT_FILE/);
    assert.match(
      renderAlistSetup({ ...input, verifyTls: true }),
      /bridge ca --bundle \| sudo tee \/etc\/alist\//,
    );
  });

  it('gives a docker-compose snippet on the host network (the bridge is loopback-only)', () => {
    const compose = alistSetup(input).dockerCompose;
    assert.equal(
      compose,
      [
        'services:',
        '  alist:',
        '    image: xhofe/alist:latest',
        '    restart: unless-stopped',
        "    # The bridge listens on the host's loopback only: AList shares the host's network.",
        '    network_mode: host',
        '    environment:',
        '      - HTTPS_PROXY=http://alist:pkb_abcdef@127.0.0.1:5288',
        '    volumes:',
        '      - /etc/alist:/opt/alist/data',
        '',
      ].join('\n'),
    );
  });

  it('prints every field, the environment and how to run the bridge', () => {
    const text = renderAlistSetup(input);
    for (const line of [
      /username +me@example\.com/,
      /password +pkb_abcdef\.main/,
      /platform +web/,
      /refresh_token +pkb_abcdef\.main/,
      /refresh_token_method +http/,
      /device_id +cc884c5dd5755d8c21e8c12b2b7ce6a2/,
      /\n {5}HTTPS_PROXY=http:\/\/alist:pkb_abcdef@127\.0\.0\.1:5288\n/,
      /Environment=HTTPS_PROXY=http:\/\/alist:pkb_abcdef@127\.0\.0\.1:5288/,
      /without it the bridge answers 407/,
      /pikpak-token-broker daemon --bridge 127\.0\.0\.1:5288/,
      /network_mode: host/,
    ])
      assert.match(text, line);
    assert.doesNotMatch(text, new RegExp(SECRET_PLACEHOLDER));
  });

  it('without a secret, shows a placeholder and how to get one', () => {
    const text = renderAlistSetup({ ...input, clientSecret: undefined });
    assert.match(text, /refresh_token +<CLIENT_SECRET>\.main/);
    assert.match(text, /pikpak-token-broker clients add alist --account main/);
    assert.match(text, /HTTPS_PROXY=http:\/\/alist:<CLIENT_SECRET>@127\.0\.0\.1:5288/);
    assert.equal(alistSetup({ ...input, clientSecret: undefined }).secretIncluded, false);
  });
});
