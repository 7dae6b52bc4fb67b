/** Adapts the PikPak provider to the core's AuthProvider port. */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { PikPakClient } from '../pikpak/index.js';

export interface UpstreamOptions {
  authBaseUrl?: string | undefined;
  driveBaseUrl?: string | undefined;
  /** A PEM file of an extra CA to trust for PikPak's hosts (the emulator over HTTPS). */
  upstreamCaFile?: string | undefined;
  timeoutMs?: number | undefined;
}

export function createPikPakClient(options: UpstreamOptions): PikPakClient {
  const httpsAgent = options.upstreamCaFile
    ? new HttpsAgent({ ca: readFileSync(options.upstreamCaFile, 'utf8'), keepAlive: true })
    : new HttpsAgent({ keepAlive: true });
  return new PikPakClient({
    authBaseUrl: options.authBaseUrl,
    driveBaseUrl: options.driveBaseUrl,
    timeoutMs: options.timeoutMs,
    httpsAgent,
    // The broker itself never goes through HTTPS_PROXY: that variable is how AList is pointed
    // at our bridge, and a broker inheriting it would proxy to itself.
    proxy: false,
  });
}
