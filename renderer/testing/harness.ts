/**
 * Real Chromium (playwright-core, the system's Chromium) showing the real pages from
 * page-server.ts, with the preload's API faked (fake-broker.ts, injected before page scripts).
 * Each window opens at the size the app gives it, in English and UTC so that screenshots repeat.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import ts from 'typescript';
import type { StatusView, WindowKind } from '../../main/shell/ipc-channels.js';
import { PAGES } from '../../main/shell/windows.js';
import { launchChromium } from '../../scripts/chromium.js';
import { REPO, startPageServer, type PageServer } from './page-server.js';

export { chromiumSkipReason } from '../../scripts/chromium.js';

export const SCREENSHOTS = join(REPO, 'test-results', 'screenshots');

let fakeScript: Promise<string> | undefined;

/** fake-broker.ts as a classic script (CommonJS output in a function that supplies `exports`). */
function fakeBrokerScript(): Promise<string> {
  fakeScript ??= readFile(join(REPO, 'renderer', 'testing', 'fake-broker.ts'), 'utf8').then(
    (source) =>
      `(function (exports) {\n${
        ts.transpileModule(source, {
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
        }).outputText
      }\n})({});`,
  );
  return fakeScript;
}

export interface OpenOptions {
  readonly status: StatusView;
  readonly query?: Record<string, string>;
  readonly colorScheme?: 'light' | 'dark';
  /** Taller than the window, to capture a whole page. */
  readonly height?: number;
}

export interface Harness {
  readonly browser: Browser;
  readonly server: PageServer;
  open(kind: WindowKind, options: OpenOptions): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const [browser, server, script] = await Promise.all([
    launchChromium(),
    startPageServer(),
    fakeBrokerScript(),
  ]);
  return {
    browser,
    server,
    async open(kind, options) {
      const spec = PAGES[kind];
      const context = await browser.newContext({
        viewport: { width: spec.width, height: options.height ?? spec.height },
        deviceScaleFactor: 1,
        locale: 'en-US',
        timezoneId: 'UTC',
        colorScheme: options.colorScheme ?? 'light',
        reducedMotion: 'reduce',
      });
      await context.addInitScript({
        content: `window.__fakeFixture = ${JSON.stringify({ status: options.status })};\n${script}`,
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      (page as Page & { errors: string[] }).errors = errors;
      const query = new URLSearchParams(options.query ?? {}).toString();
      await page.goto(`${server.url}/renderer/${spec.file}${query ? `?${query}` : ''}`);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Errors the page reported (script errors, CSP violations). */
export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

export async function saveScreenshot(page: Page, name: string, fullPage = false): Promise<Buffer> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const png = await page.screenshot({ fullPage, animations: 'disabled', caret: 'hide' });
  await writeFile(join(SCREENSHOTS, `${name}.png`), png);
  return png;
}

/** Calls the page made to the fake API, by method. */
export async function calls(page: Page, method: string): Promise<unknown[][]> {
  const all = (await page.evaluate('window.__fake.calls')) as { method: string; args: unknown[] }[];
  return all.filter((c) => c.method === method).map((c) => c.args);
}
