/**
 * PikPak's auth protocol constants and pure helpers, as AList / OpenList speak it
 * (see shared/PIKPAK.md). No I/O here: both the provider and the emulator use this file,
 * and captcha_sign is tested against vectors computed independently.
 */
import { createHash } from 'node:crypto';

export const PLATFORMS = ['android', 'web', 'pc'] as const;
export type Platform = (typeof PLATFORMS)[number];

export function isPlatform(value: unknown): value is Platform {
  return typeof value === 'string' && (PLATFORMS as readonly string[]).includes(value);
}

export interface PlatformPreset {
  readonly platform: Platform;
  readonly clientId: string;
  /** Public in every PikPak client build; still treated as a secret at the edges. */
  readonly clientSecret: string;
  readonly clientVersion: string;
  readonly packageName: string;
  readonly sdkVersion: string;
  /** Salts for captcha_sign, applied in order. */
  readonly salts: readonly string[];
}

export const PRESETS: Readonly<Record<Platform, PlatformPreset>> = {
  android: {
    platform: 'android',
    clientId: 'YNxT9w7GMdWvEOKa',
    clientSecret: 'dbw2OtmVEeuUvIptb1Coyg',
    clientVersion: '1.48.3',
    packageName: 'com.pikcloud.pikpak',
    sdkVersion: '2.0.4.204101',
    salts: [
      'aDhgaSE3MsjROCmpmsWqP1sJdFJ',
      '+oaVkqdd8MJuKT+uMr2AYKcd9tdWge3XPEPR2hcePUknd',
      'u/sd2GgT2fTytRcKzGicHodhvIltMntA3xKw2SRv7S48OdnaQIS5mn',
      '2WZiae2QuqTOxBKaaqCNHCW3olu2UImelkDzBn',
      '/vJ3upic39lgmrkX855Qx',
      'yNc9ruCVMV7pGV7XvFeuLMOcy1',
      '4FPq8mT3JQ1jzcVxMVfwFftLQm33M7i',
      'xozoy5e3Ea',
    ],
  },
  web: {
    platform: 'web',
    clientId: 'YUMx5nI8ZU8Ap8pm',
    clientSecret: 'dbw2OtmVEeuUvIptb1Coyg',
    clientVersion: '2.0.0',
    packageName: 'mypikpak.com',
    sdkVersion: '8.0.3',
    salts: [
      'C9qPpZLN8ucRTaTiUMWYS9cQvWOE',
      '+r6CQVxjzJV6LCV',
      'F',
      'pFJRC',
      '9WXYIDGrwTCz2OiVlgZa90qpECPD6olt',
      '/750aCr4lm/Sly/c',
      'RB+DT/gZCrbV',
      '',
      'CyLsf7hdkIRxRm215hl',
      '7xHvLi2tOYP0Y92b',
      'ZGTXXxu8E/MIWaEDB+Sm/',
      '1UI3',
      'E7fP5Pfijd+7K+t6Tg/NhuLq0eEUVChpJSkrKxpO',
      'ihtqpG6FMt65+Xk+tWUH2',
      'NhXXU9rg4XXdzo7u5o',
    ],
  },
  pc: {
    platform: 'pc',
    clientId: 'YvtoWO6GNHiuCl7x',
    clientSecret: '1NIH5R1IEe2pAxZE3hv3uA',
    clientVersion: 'undefined',
    packageName: 'mypikpak.com',
    sdkVersion: '8.0.3',
    salts: [
      'KHBJ07an7ROXDoK7Db',
      'G6n399rSWkl7WcQmw5rpQInurc1DkLmLJqE',
      'JZD1A3M4x+jBFN62hkr7VDhkkZxb9g3rWqRZqFAAb',
      'fQnw/AmSlbbI91Ik15gpddGgyU7U',
      '/Dv9JdPYSj3sHiWjouR95NTQff',
      'yGx2zuTjbWENZqecNI+edrQgqmZKP',
      'ljrbSzdHLwbqcRn',
      'lSHAsqCkGDGxQqqwrVu',
      'TsWXI81fD1',
      'vk7hBjawK/rOSrSWajtbMk95nfgf3',
    ],
  },
};

/** Looks a preset up by the client_id a caller sent (the emulator and the bridge need this). */
export function presetByClientId(clientId: string): PlatformPreset | undefined {
  return Object.values(PRESETS).find((p) => p.clientId === clientId);
}

export const AUTH_HOSTS = ['user.mypikpak.net', 'user.mypikpak.com'] as const;
export const DRIVE_HOSTS = ['api-drive.mypikpak.net', 'api-drive.mypikpak.com'] as const;
export const DEFAULT_AUTH_BASE_URL = 'https://user.mypikpak.net';
export const DEFAULT_DRIVE_BASE_URL = 'https://api-drive.mypikpak.net';
export const CAPTCHA_REDIRECT_URI = 'xlaccsdk01://xbase.cloud/callback?state=harbor';

export const PATHS = {
  captchaInit: '/v1/shield/captcha/init',
  signin: '/v1/auth/signin',
  token: '/v1/auth/token',
  about: '/drive/v1/about',
  files: '/drive/v1/files',
} as const;

export function md5hex(input: string): string {
  return createHash('md5').update(input, 'utf8').digest('hex');
}

function sha1hex(input: string): string {
  return createHash('sha1').update(input, 'utf8').digest('hex');
}

/** `"<METHOD>:<path>"`, the action a captcha token unlocks. */
export function captchaAction(method: string, urlOrPath: string): string {
  const path = urlOrPath.includes('://') ? new URL(urlOrPath).pathname : urlOrPath.split('?')[0]!;
  return `${method.toUpperCase()}:${path}`;
}

/** captcha_sign = "1." + fold(md5hex(s + salt)) over the platform's salts. */
export function captchaSign(preset: PlatformPreset, deviceId: string, timestampMs: string): string {
  let s = preset.clientId + preset.clientVersion + preset.packageName + deviceId + timestampMs;
  for (const salt of preset.salts) s = md5hex(s + salt);
  return `1.${s}`;
}

/** AList's default device id when a storage sets none. */
export function defaultDeviceId(username: string, password: string): string {
  return md5hex(username + password);
}

export type SigninMeta = { email: string } | { phone_number: string } | { username: string };

/** The `meta` of a captcha init before sign-in, chosen from the shape of the username. */
export function signinMeta(username: string): SigninMeta {
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(username)) return { email: username };
  if (username.length >= 11 && username.length <= 18) return { phone_number: username };
  return { username };
}

export interface SignedMeta {
  client_version: string;
  package_name: string;
  user_id: string;
  timestamp: string;
  captcha_sign: string;
}

/** The `meta` of a captcha init after sign-in. */
export function signedMeta(
  preset: PlatformPreset,
  deviceId: string,
  userId: string,
  timestampMs: number,
): SignedMeta {
  const timestamp = String(timestampMs);
  return {
    client_version: preset.clientVersion,
    package_name: preset.packageName,
    user_id: userId,
    timestamp,
    captcha_sign: captchaSign(preset, deviceId, timestamp),
  };
}

export function deviceSign(deviceId: string, packageName: string): string {
  return `div101.${deviceId}${md5hex(sha1hex(`${deviceId}${packageName}1appkey`))}`;
}

const WEB_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36';
const PC_USER_AGENT =
  'MainWindow Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) PikPak/2.5.6.4831 Chrome/100.0.4896.160 Electron/18.3.15 Safari/537.36';

/** The User-Agent a platform sends; android embeds the device id and its signature. */
export function userAgent(preset: PlatformPreset, deviceId: string, userId = '', nowMs = Date.now()): string {
  if (preset.platform === 'web') return WEB_USER_AGENT;
  if (preset.platform === 'pc') return PC_USER_AGENT;
  const app = preset.packageName;
  return (
    [
      `ANDROID-${app}/${preset.clientVersion}`,
      'protocolVersion/200',
      'accesstype/',
      `clientid/${preset.clientId}`,
      `clientversion/${preset.clientVersion}`,
      'action_type/',
      'networktype/WIFI',
      'sessionid/',
      `deviceid/${deviceId}`,
      'providername/NONE',
      `devicesign/${deviceSign(deviceId, app)}`,
      'refresh_token/',
      `sdkversion/${preset.sdkVersion}`,
      `datetime/${nowMs}`,
      `usrno/${userId}`,
      `appname/android-${app}`,
      'session_origin/',
      'grant_type/',
      'appid/',
      'clientip/',
      'devicename/Xiaomi_M2004j7ac',
      'osversion/13',
      'platformversion/10',
      'accessmode/',
      'devicemodel/M2004J7AC',
    ].join(' ') + ' '
  );
}

/** PikPak's error codes that callers act on (see PIKPAK.md, "Errors"). */
export const ERROR_CODES = {
  captchaExpired: 9,
  rateLimited: 10,
  accessTokenExpired: 16,
  accessTokenInvalid: 4121,
  accessTokenInvalid2: 4122,
  invalidGrant: 4126,
} as const;

export const INVALID_GRANT_DESCRIPTION = 'invalid refresh token, may be has been refreshed by other process';

/** PikPak's token answer (sign-in and refresh share it). */
export interface TokenResponseBody {
  token_type: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  sub: string;
}

export interface ErrorResponseBody {
  error: string;
  error_code: number;
  error_description?: string;
}
