/**
 * One picture of the app for the README: the windows (real pages in Chromium, fake API), the
 * tray icons as generated, and the tray menu and tooltip as tray-view.ts derives them — drawn
 * by Chromium from the individual screenshots. Used by renderer/gallery.test.ts (into
 * test-results/) and scripts/make-screenshots.ts (into docs/screenshots.png).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { reauthRequired, healthy } from '../../main/core/keeper-state.js';
import { HEALTHS } from '../../main/shell/icons.js';
import { trayView, type TrayMenuEntry } from '../../main/shell/tray-view.js';
import { NOW, statusFixture } from './fixtures.js';
import type { Harness } from './harness.js';
import { REPO } from './page-server.js';

const png = (data: Buffer): string => `data:image/png;base64,${data.toString('base64')}`;
const esc = (text: string): string =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface Shots {
  readonly status: Buffer;
  readonly login: Buffer;
  readonly captcha: Buffer;
  readonly clients: Buffer;
}

async function shot(page: Page): Promise<Buffer> {
  return page.screenshot({ animations: 'disabled', caret: 'hide' });
}

/** The four windows in the states the README shows. */
export async function windowShots(harness: Harness): Promise<Shots> {
  const status = await harness.open('status', { status: statusFixture() });
  await status.waitForSelector('body[data-ready="true"]');

  const login = await harness.open('login', { status: statusFixture(), query: { account: 'nas' } });
  await login.waitForFunction('document.getElementById("username").value !== ""');
  await login.fill('#password', 'password123');

  const captcha = await harness.open('login', { status: statusFixture(), colorScheme: 'dark' });
  await captcha.evaluate(
    'window.__fake.reply("login", {ok: false, code: "captcha_required", url: "https://user.mypikpak.com/captcha", message: ""}); window.__fake.hold("solveCaptcha")',
  );
  await captcha.fill('#account', 'main');
  await captcha.fill('#username', 'me@example.com');
  await captcha.fill('#password', 'password123');
  await captcha.check('#remember');
  await captcha.click('#submit');
  await captcha.waitForFunction('window.__fake.count("solveCaptcha") === 1');

  const clients = await harness.open('clients', { status: statusFixture() });
  await clients.waitForSelector('body[data-ready="true"]');

  return {
    status: await shot(status),
    login: await shot(login),
    captcha: await shot(captcha),
    clients: await shot(clients),
  };
}

function menuHtml(entries: readonly TrayMenuEntry[]): string {
  return entries
    .map((e) => {
      switch (e.kind) {
        case 'separator':
          return '<li class="sep"></li>';
        case 'checkbox':
          return `<li><span class="tick">${e.checked ? '✓' : ''}</span>${esc(e.label)}</li>`;
        case 'submenu':
          return `<li><span class="tick"></span>${esc(e.label)}<span class="more">▸</span></li>`;
        case 'item':
          return `<li class="${e.enabled ? '' : 'off'}"><span class="tick"></span>${esc(e.label.replace(/&&/g, '&'))}</li>`;
      }
    })
    .join('');
}

/** The tray's icons on light and dark panels, and its menu and tooltip for one state. */
async function trayHtml(): Promise<string> {
  const file = (name: string) => readFile(join(REPO, 'build', 'tray', name)).then(png);
  const rows: string[] = [];
  for (const [title, suffix, panel] of [
    ['Linux / Windows, light panel', '-light@2x.png', 'light'],
    ['Linux / Windows, dark panel', '-dark@2x.png', 'dark'],
    ['macOS template (tinted by the system)', 'Template@2x.png', 'mac'],
  ] as const) {
    const cells = await Promise.all(
      HEALTHS.map(
        async (h) =>
          `<figure><img src="${await file(`${h}${suffix}`)}" alt=""><figcaption>${h}</figcaption></figure>`,
      ),
    );
    rows.push(`<div class="panel ${panel}"><span class="ptitle">${title}</span>${cells.join('')}</div>`);
  }
  const view = trayView({
    now: NOW,
    platform: 'linux',
    core: { state: 'running', message: '' },
    accounts: [
      {
        name: 'main',
        username: 'me@example.com',
        state: healthy({
          accessExpiresAt: NOW + 102 * 60_000,
          refreshedAt: NOW,
          nextRefreshAt: NOW + 90 * 60_000,
          unsaved: false,
        }),
      },
      {
        name: 'nas',
        username: 'family@example.com',
        state: reauthRequired({ reason: 'invalid-grant', since: NOW, message: '' }),
      },
    ],
    requests: statusFixture().requests,
    startAtLogin: true,
    formatTime: (ms) => new Date(ms).toISOString().slice(11, 16),
  });
  return `<div class="panels">${rows.join('')}</div>
    <div class="menuwrap"><ul class="menu">${menuHtml(view.menu)}</ul></div>
    <div class="menuwrap"><span class="ptitle">Tooltip</span><pre class="tooltip">${esc(view.tooltip)}</pre></div>`;
}

const STYLE = `
  body { margin: 0; background: #e9edf2; font: 14px/1.4 system-ui, 'DejaVu Sans', sans-serif; color: #1b1d21; }
  .sheet { display: grid; grid-template-columns: 600px 340px 340px; gap: 22px; padding: 22px; width: max-content; }
  .win { background: #fff; border-radius: 10px; box-shadow: 0 2px 10px rgba(0,0,0,.18); overflow: hidden; align-self: start; }
  .bar { background: #dfe3e8; padding: 6px 12px; font-size: 12px; color: #444; display: flex; gap: 6px; align-items: center; }
  .bar i { width: 10px; height: 10px; border-radius: 50%; background: #c2c7ce; display: inline-block; }
  .win img { display: block; width: 100%; }
  h2 { grid-column: 1 / -1; margin: 6px 0 -8px; font-size: 15px; color: #333; }
  .tray { grid-column: 1 / -1; display: flex; gap: 22px; align-items: start; }
  .panels { display: grid; gap: 8px; }
  .panel { display: flex; gap: 14px; align-items: center; padding: 8px 12px; border-radius: 8px; }
  .panel.light { background: #f3f3f3; } .panel.dark { background: #26282c; color: #ddd; } .panel.mac { background: #ececec; }
  .ptitle { width: 150px; font-size: 12px; }
  figure { margin: 0; text-align: center; font-size: 11px; }
  figure img { width: 32px; height: 32px; display: block; margin: 0 auto 2px; }
  .menuwrap { display: grid; gap: 10px; }
  .menu { list-style: none; margin: 0; padding: 5px 0; background: #fff; border-radius: 8px; box-shadow: 0 2px 10px rgba(0,0,0,.2); font-size: 13px; width: 430px; }
  .menu li { padding: 3px 14px 3px 4px; display: flex; } .menu li.off { color: #8a8f98; }
  .menu li.sep { border-top: 1px solid #e2e4e8; margin: 4px 0; padding: 0; }
  .tick { width: 20px; text-align: center; } .more { margin-left: auto; }
  .tooltip { margin: 0; background: #fffbe0; border: 1px solid #c9c19a; border-radius: 4px; padding: 6px 8px; font-size: 12px; width: max-content; }
`;

function frame(title: string, image: Buffer): string {
  return `<div class="win"><div class="bar"><i></i><i></i><i></i>${esc(title)}</div><img src="${png(image)}" alt=""></div>`;
}

/** Renders the composite and returns it as PNG. */
export async function renderGallery(browser: Browser, shots: Shots): Promise<Buffer> {
  const page = await browser.newPage({ deviceScaleFactor: 1, viewport: { width: 1400, height: 900 } });
  try {
    await page.setContent(`<!doctype html><html><head><style>${STYLE}</style></head><body><div class="sheet">
      <h2>Windows</h2>
      ${frame('PikPak Token Broker — status', shots.status)}
      <div style="display:grid;gap:22px">${frame('Sign in again: nas', shots.login)}</div>
      <div style="display:grid;gap:22px">${frame('Sign in — captcha (dark theme)', shots.captcha)}${frame('A program asks for access', shots.clients)}</div>
      <h2>Tray: icon per health (shape, not only colour), menu and tooltip</h2>
      <div class="tray">${await trayHtml()}</div>
    </div></body></html>`);
    const sheet = page.locator('.sheet');
    return await sheet.screenshot({ animations: 'disabled' });
  } finally {
    await page.close();
  }
}

/** The tray icons alone, large, on light and dark panels (a screenshot of its own). */
export async function renderTrayIcons(browser: Browser): Promise<Buffer> {
  const page = await browser.newPage({ deviceScaleFactor: 1, viewport: { width: 1400, height: 600 } });
  try {
    await page.setContent(`<!doctype html><html><head><style>${STYLE}
      .panel figure img { width: 64px; height: 64px; image-rendering: pixelated; }</style></head>
      <body><div class="sheet" style="grid-template-columns: 1fr"><div class="tray">${await trayHtml()}</div></div></body></html>`);
    return await page.locator('.tray').screenshot();
  } finally {
    await page.close();
  }
}
