/**
 * What `alist setup` prints: the PikPak storage's fields, AList's environment and a
 * docker-compose snippet that put one account behind the bridge. Pure: the command gathers the
 * facts (settings, client secret) and this renders them.
 *
 * The storage keeps no real secret: both `refresh_token` and `password` hold the broker client
 * secret followed by `.<account>` (what the bridge hands back as the surrogate refresh token too,
 * so it never changes). `refresh_token_method` is `http`: it keeps what the bridge answers, while
 * `oauth2` goes through Go's default HTTP client, which ignores `tls_insecure_skip_verify`.
 * When a refresh still fails, AList signs in with username and password — the bridge answers
 * that from the broker as well.
 *
 * The bridge lets no one through without proxy credentials: AList's HTTPS_PROXY carries the same
 * client secret as the password of `http://alist:SECRET@127.0.0.1:5288` (any user name).
 */
import type { Platform } from '../pikpak/protocol.js';
import { surrogateRefreshToken } from '../service/pikpak-compat.js';

export interface AlistSetupInput {
  readonly account: {
    readonly name: string;
    readonly username: string;
    readonly platform: Platform;
    readonly deviceId: string;
  };
  /** `127.0.0.1:PORT`. */
  readonly bridgeAddress: string;
  /** The client secret, when known (`--client-secret` or `--new-client`); else a placeholder is printed. */
  readonly clientSecret?: string | undefined;
  /** Whether AList verifies TLS (its config has `tls_insecure_skip_verify: false`). */
  readonly verifyTls: boolean;
}

export interface AlistSetup {
  /** PikPak storage fields, in AList's names (drivers/pikpak/meta.go). */
  readonly storage: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
  readonly dockerCompose: string;
  /** Whether `storage` holds a real client secret (else a placeholder). */
  readonly secretIncluded: boolean;
}

export const SECRET_PLACEHOLDER = '<CLIENT_SECRET>';
/** Where the CA bundle goes in the examples: AList's data folder (in Docker, the mounted volume). */
const BUNDLE_HOST_PATH = '/etc/alist/pikpak-broker-ca.pem';
const BUNDLE_CONTAINER_PATH = '/opt/alist/data/pikpak-broker-ca.pem';

export function alistSetup(input: AlistSetupInput): AlistSetup {
  const credential = surrogateRefreshToken(input.clientSecret ?? SECRET_PLACEHOLDER, input.account.name);
  const storage = {
    driver: 'PikPak',
    username: input.account.username,
    password: credential,
    platform: input.account.platform,
    refresh_token: credential,
    refresh_token_method: 'http',
    captcha_token: '',
    device_id: input.account.deviceId,
  };
  const proxy = proxyUrl(input.bridgeAddress, input.clientSecret ?? SECRET_PLACEHOLDER);
  const environment: Record<string, string> = { HTTPS_PROXY: proxy };
  if (input.verifyTls) environment.SSL_CERT_FILE = BUNDLE_HOST_PATH;
  const compose = [
    'services:',
    '  alist:',
    '    image: xhofe/alist:latest',
    '    restart: unless-stopped',
    "    # The bridge listens on the host's loopback only: AList shares the host's network.",
    '    network_mode: host',
    '    environment:',
    `      - HTTPS_PROXY=${proxy}`,
    ...(input.verifyTls ? [`      - SSL_CERT_FILE=${BUNDLE_CONTAINER_PATH}`] : []),
    '    volumes:',
    '      - /etc/alist:/opt/alist/data',
  ].join('\n');
  return {
    storage,
    environment,
    dockerCompose: `${compose}\n`,
    secretIncluded: input.clientSecret !== undefined,
  };
}

/** AList's HTTPS_PROXY: the bridge, with a client secret as the proxy password (`alist` is any name). */
export function proxyUrl(bridgeAddress: string, secret: string): string {
  return `http://alist:${secret}@${bridgeAddress}`;
}

/** The instructions for people. */
export function renderAlistSetup(input: AlistSetupInput, setup: AlistSetup = alistSetup(input)): string {
  const { account } = input;
  const width = Math.max(...Object.keys(setup.storage).map((k) => k.length));
  const field = (key: string, note = ''): string =>
    `     ${key.padEnd(width)}  ${setup.storage[key] === '' ? '(empty)' : setup.storage[key]}${note ? `   ${note}` : ''}`;
  const lines = [
    `AList storage for PikPak account "${account.name}" (${account.username}), through the bridge at ${input.bridgeAddress}`,
    '',
    '1. Keep the broker running with the bridge:',
    `     pikpak-token-broker daemon --bridge ${input.bridgeAddress}      (or: pikpak-token-broker bridge --bridge ${input.bridgeAddress})`,
    '',
    '2. In AList: Storages → Add (or Edit your PikPak storage) and set:',
    field('driver'),
    field('username'),
    field('password', '(the broker client secret, never your PikPak password)'),
    field('platform'),
    field('refresh_token', '(the same client secret)'),
    field('refresh_token_method', '(not oauth2)'),
    field('captcha_token'),
    field('device_id', "(the broker's device id for this account)"),
    ...(setup.secretIncluded
      ? []
      : [
          '',
          `   ${SECRET_PLACEHOLDER}: a client secret of the broker. Create one (it is shown once):`,
          `     pikpak-token-broker clients add alist --account ${account.name}`,
          `   or run this command again with --new-client alist (or --client-secret SECRET) to fill it in.`,
        ]),
    '   A second PikPak storage of this account gets the same values: through the bridge they share the',
    '   broker’s token instead of locking each other out.',
    '',
    '3. Restart AList with this environment (HTTPS_PROXY carries the client secret as its password;',
    '   without it the bridge answers 407 and lets nothing through):',
    ...Object.entries(setup.environment).map(([k, v]) => `     ${k}=${v}`),
    ...(input.verifyTls
      ? [
          `   AList verifies TLS (tls_insecure_skip_verify false), so it must trust the broker's CA as well as`,
          `   the public ones; write the bundle SSL_CERT_FILE names (in Docker: ${BUNDLE_CONTAINER_PATH}) with:`,
          `     pikpak-token-broker bridge ca --bundle | sudo tee ${BUNDLE_HOST_PATH} >/dev/null`,
        ]
      : [
          '   (AList skips TLS verification by default. If you turned tls_insecure_skip_verify off, run this',
          '   command again with --verify-tls: AList then needs the broker CA in SSL_CERT_FILE.)',
        ]),
    `   Bare metal (systemd): systemctl edit alist, then under [Service]:`,
    ...Object.entries(setup.environment).map(([k, v]) => `     Environment=${k}=${v}`),
    '',
    '4. Docker (docker-compose.yml):',
    ...setup.dockerCompose
      .trimEnd()
      .split('\n')
      .map((l) => `     ${l}`),
    '',
    'Check the result: pikpak-token-broker alist scan --url http://127.0.0.1:5244 --token ALIST_ADMIN_TOKEN',
  ];
  return `${lines.join('\n')}\n`;
}
