/**
 * protocol.ts against vectors computed OUTSIDE this code base, from the salts and formulas of
 * shared/PIKPAK.md, so that a wrong salt, a wrong order or a wrong concatenation shows up.
 *
 * The vectors were produced with Python's hashlib (and cross-checked with coreutils md5sum/sha1sum):
 *
 *   python3 - <<'EOF'
 *   import hashlib
 *   md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
 *   sha1 = lambda s: hashlib.sha1(s.encode()).hexdigest()
 *   P = {  # client_id, client_version, package_name, salts — copied from shared/PIKPAK.md
 *    'android': ('YNxT9w7GMdWvEOKa','1.48.3','com.pikcloud.pikpak',['aDhgaSE3MsjROCmpmsWqP1sJdFJ',
 *      '+oaVkqdd8MJuKT+uMr2AYKcd9tdWge3XPEPR2hcePUknd','u/sd2GgT2fTytRcKzGicHodhvIltMntA3xKw2SRv7S48OdnaQIS5mn',
 *      '2WZiae2QuqTOxBKaaqCNHCW3olu2UImelkDzBn','/vJ3upic39lgmrkX855Qx','yNc9ruCVMV7pGV7XvFeuLMOcy1',
 *      '4FPq8mT3JQ1jzcVxMVfwFftLQm33M7i','xozoy5e3Ea']),
 *    'web': ('YUMx5nI8ZU8Ap8pm','2.0.0','mypikpak.com',['C9qPpZLN8ucRTaTiUMWYS9cQvWOE','+r6CQVxjzJV6LCV','F',
 *      'pFJRC','9WXYIDGrwTCz2OiVlgZa90qpECPD6olt','/750aCr4lm/Sly/c','RB+DT/gZCrbV','','CyLsf7hdkIRxRm215hl',
 *      '7xHvLi2tOYP0Y92b','ZGTXXxu8E/MIWaEDB+Sm/','1UI3','E7fP5Pfijd+7K+t6Tg/NhuLq0eEUVChpJSkrKxpO',
 *      'ihtqpG6FMt65+Xk+tWUH2','NhXXU9rg4XXdzo7u5o']),
 *    'pc': ('YvtoWO6GNHiuCl7x','undefined','mypikpak.com',['KHBJ07an7ROXDoK7Db',
 *      'G6n399rSWkl7WcQmw5rpQInurc1DkLmLJqE','JZD1A3M4x+jBFN62hkr7VDhkkZxb9g3rWqRZqFAAb',
 *      'fQnw/AmSlbbI91Ik15gpddGgyU7U','/Dv9JdPYSj3sHiWjouR95NTQff','yGx2zuTjbWENZqecNI+edrQgqmZKP',
 *      'ljrbSzdHLwbqcRn','lSHAsqCkGDGxQqqwrVu','TsWXI81fD1','vk7hBjawK/rOSrSWajtbMk95nfgf3']),
 *   }
 *   dev, ts = '7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a', '1700000000000'
 *   for name, (cid, ver, pkg, salts) in P.items():
 *       s = cid + ver + pkg + dev + ts
 *       for salt in salts: s = md5(s + salt)
 *       print(name, '1.' + s)
 *   print('defaultDeviceId', md5('alice@example.com' + 'correct horse'))
 *   print('deviceSign', 'div101.' + dev + md5(sha1(dev + 'com.pikcloud.pikpak' + '1' + 'appkey')))
 *   EOF
 *
 * Shell cross-check of the pc chain and the device sign:
 *   s='YvtoWO6GNHiuCl7xundefinedmypikpak.com7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a1700000000000'
 *   for salt in KHBJ07an7ROXDoK7Db G6n399rSWkl7WcQmw5rpQInurc1DkLmLJqE … vk7hBjawK/rOSrSWajtbMk95nfgf3; do
 *     s=$(printf '%s' "$s$salt" | md5sum | cut -d' ' -f1); done; echo 1.$s
 *   d=7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a
 *   echo div101.$d$(printf '%s' "$(printf '%s' "${d}com.pikcloud.pikpak1appkey" | sha1sum | cut -d' ' -f1)" \
 *     | md5sum | cut -d' ' -f1)
 *   printf '%s' 'alice@example.comcorrect horse' | md5sum
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  PRESETS,
  captchaAction,
  captchaSign,
  defaultDeviceId,
  deviceSign,
  signedMeta,
  signinMeta,
  userAgent,
} from './protocol.js';

const DEVICE_ID = '7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a';
const TIMESTAMP = '1700000000000';

const CAPTCHA_SIGN_VECTORS = {
  android: '1.24fa0a831ae06077e61e78a081cba8c0',
  web: '1.fdb0f79ddb3147be704c7275c46cf0b3',
  pc: '1.7c8cf6e1f8c85afa7e5ae27adb8a7fe6',
} as const;

describe('captcha_sign', () => {
  for (const platform of ['android', 'web', 'pc'] as const) {
    it(`${platform}: matches the independently computed vector`, () => {
      assert.equal(captchaSign(PRESETS[platform], DEVICE_ID, TIMESTAMP), CAPTCHA_SIGN_VECTORS[platform]);
    });
  }

  it('depends on the device id and the timestamp', () => {
    const base = captchaSign(PRESETS.web, DEVICE_ID, TIMESTAMP);
    assert.notEqual(captchaSign(PRESETS.web, `${DEVICE_ID}0`, TIMESTAMP), base);
    assert.notEqual(captchaSign(PRESETS.web, DEVICE_ID, '1700000000001'), base);
  });

  it('signedMeta carries the preset’s version, package, the user id and a sign for its timestamp', () => {
    assert.deepEqual(signedMeta(PRESETS.pc, DEVICE_ID, 'user-42', Number(TIMESTAMP)), {
      client_version: 'undefined',
      package_name: 'mypikpak.com',
      user_id: 'user-42',
      timestamp: TIMESTAMP,
      captcha_sign: CAPTCHA_SIGN_VECTORS.pc,
    });
  });
});

describe('device id and device sign', () => {
  it('defaultDeviceId = md5hex(username + password)', () => {
    assert.equal(defaultDeviceId('alice@example.com', 'correct horse'), '3ee0327a0cac0b07e1a84f6a81f5cfff');
  });

  it('deviceSign = "div101." + id + md5hex(sha1hex(id + package + "1" + "appkey"))', () => {
    assert.equal(
      deviceSign(DEVICE_ID, 'com.pikcloud.pikpak'),
      'div101.7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a45399140cf9387a501d901c5a7feb3d3',
    );
  });

  it('the android User-Agent embeds the device id, the device sign, the user and the time', () => {
    const ua = userAgent(PRESETS.android, DEVICE_ID, 'user-42', 1_700_000_000_123);
    assert.ok(ua.startsWith('ANDROID-com.pikcloud.pikpak/1.48.3 protocolVersion/200 '), ua);
    assert.match(ua, / clientid\/YNxT9w7GMdWvEOKa /);
    assert.match(ua, / deviceid\/7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a /);
    assert.match(
      ua,
      / devicesign\/div101\.7d1e6f0a3b9c4d2e8f5a6b7c8d9e0f1a45399140cf9387a501d901c5a7feb3d3 /,
    );
    assert.match(ua, / sdkversion\/2\.0\.4\.204101 /);
    assert.match(ua, / datetime\/1700000000123 /);
    assert.match(ua, / usrno\/user-42 /);
  });

  it('web and pc send fixed browser / Electron user agents', () => {
    assert.match(
      userAgent(PRESETS.web, DEVICE_ID),
      /^Mozilla\/5\.0 .* Chrome\/117\.0\.0\.0 Safari\/537\.36$/,
    );
    assert.match(
      userAgent(PRESETS.pc, DEVICE_ID),
      /^MainWindow Mozilla\/5\.0 .* PikPak\/2\.5\.6\.4831 .*Electron/,
    );
    assert.doesNotMatch(userAgent(PRESETS.web, DEVICE_ID), /7d1e6f0a/);
  });
});

describe('signinMeta (the captcha meta before sign-in)', () => {
  const cases: [string, object][] = [
    ['alice@example.com', { email: 'alice@example.com' }],
    ['first.last+tag@mail.example.org', { email: 'first.last+tag@mail.example.org' }],
    ['13800138000', { phone_number: '13800138000' }], // 11 characters: shortest phone number
    ['+8613800138000', { phone_number: '+8613800138000' }], // 14
    ['123456789012345678', { phone_number: '123456789012345678' }], // 18: longest phone number
    ['1234567890123456789', { username: '1234567890123456789' }], // 19: too long for a phone
    ['1380013800', { username: '1380013800' }], // 10: too short for a phone
    ['bob', { username: 'bob' }],
    ['', { username: '' }],
  ];
  for (const [username, meta] of cases) {
    it(`${JSON.stringify(username)} (${username.length} chars) → ${Object.keys(meta)[0]}`, () => {
      assert.deepEqual(signinMeta(username), meta);
    });
  }
});

describe('captchaAction', () => {
  it('is "<METHOD>:<path>" from a path or a full URL, without the query', () => {
    assert.equal(captchaAction('post', '/v1/auth/signin'), 'POST:/v1/auth/signin');
    assert.equal(
      captchaAction('GET', 'https://api-drive.mypikpak.com/drive/v1/files?limit=100'),
      'GET:/drive/v1/files',
    );
    assert.equal(captchaAction('GET', '/drive/v1/files?parent_id=x'), 'GET:/drive/v1/files');
  });
});
