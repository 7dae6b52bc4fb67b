/**
 * Headless Chromium through playwright-core, for the icon and screenshot scripts and the renderer
 * tests. Uses the system's Chromium (Debian: /usr/bin/chromium; override with CHROMIUM_PATH).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Why Chromium tests cannot run here, or false when they can (for node:test's `skip`). */
export function chromiumSkipReason(): string | false {
  return chromiumPath()
    ? false
    : 'Chromium not found (install the Debian package "chromium", or set CHROMIUM_PATH)';
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(String(chromiumSkipReason()));
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--font-render-hinting=none',
    ],
  });
}
