/** The bridge's own failures (the CLI maps them to exit code 2, usage). */
import { InvalidListenAddressError } from '../service/errors/index.js';
import { parseListenAddress, type ListenAddress } from '../service/loopback.js';

/** The bridge address is not `127.0.0.1:PORT`-like, or not loopback. */
export class BridgeAddressError extends Error {
  readonly code = 'invalid_bridge_address';
  readonly address: string;
  readonly problem: 'syntax' | 'port' | 'not-loopback';

  constructor(address: string, problem: 'syntax' | 'port' | 'not-loopback') {
    const shown = JSON.stringify(address.slice(0, 100));
    super(
      problem === 'not-loopback'
        ? `bridge address ${shown} refused: the AList bridge answers PikPak token calls from the broker, so it ` +
            `listens on loopback only (127.0.0.0/8, ::1 or localhost), never where another machine can reach it. ` +
            `Use 127.0.0.1:PORT (Docker: run AList with network_mode: host).`
        : `bridge address ${shown} is not valid: use 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (port 0 picks a free one).`,
    );
    this.name = 'BridgeAddressError';
    this.address = address;
    this.problem = problem;
  }
}

/** Parses the bridge's listen address; throws BridgeAddressError for anything but loopback. */
export function parseBridgeAddress(value: string): ListenAddress {
  try {
    return parseListenAddress(value);
  } catch (error) {
    if (error instanceof InvalidListenAddressError) throw new BridgeAddressError(value, error.problem);
    throw error;
  }
}
