/**
 * The human side of a captcha challenge: a small page with a "Verify" button, and the solve
 * endpoint that redirects to `xlaccsdk01://xbase.cloud/callback?state=harbor&captcha_token=…`
 * (or, for `Accept: application/json`, answers that redirect target in JSON for non-browser tests).
 */
import type { IncomingMessage } from 'node:http';

import { jsonReply, redirectReply, type Reply } from './http-io.js';
import type { World } from './world.js';

export const CAPTCHA_PAGE_PATH = '/__emulator/captcha';
export const CAPTCHA_SOLVE_PATH = '/__emulator/captcha/solve';

const PAGE_HEADERS = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function html(status: number, title: string, body: string): Reply {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
button{font-size:1.1rem;padding:.5rem 1.5rem}dt{font-weight:600}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return { status, body: page, contentType: 'text/html; charset=utf-8', headers: PAGE_HEADERS };
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

export function captchaPage(world: World, challengeId: string): Reply {
  const challenge = world.captcha.describeChallenge(challengeId);
  if (!challenge)
    return html(404, 'Challenge expired', '<p>This verification has expired or was already completed.</p>');
  const id = escapeHtml(challengeId);
  const who = challenge.identity ? `<dt>Account</dt><dd>${escapeHtml(challenge.identity)}</dd>` : '';
  return html(
    200,
    'PikPak emulator: safety verification',
    `<p>The emulated PikPak asks you to confirm you are human.</p>
<dl><dt>Action</dt><dd>${escapeHtml(challenge.action)}</dd><dt>Device</dt><dd>${escapeHtml(challenge.deviceId)}</dd>${who}</dl>
<form method="post" action="${CAPTCHA_SOLVE_PATH}"><input type="hidden" name="challenge" value="${id}">
<button type="submit" id="verify">Verify</button></form>
<p><a id="verify-link" href="${CAPTCHA_SOLVE_PATH}?challenge=${encodeURIComponent(challengeId)}">Verify (link)</a></p>`,
  );
}

export function solveCaptcha(world: World, req: IncomingMessage, challengeId: string | undefined): Reply {
  const solved = challengeId ? world.captcha.solveChallenge(challengeId) : undefined;
  if (!solved) {
    return wantsJson(req)
      ? jsonReply(404, {
          error: 'challenge_not_found',
          error_description: 'unknown, expired or already solved',
        })
      : html(404, 'Challenge expired', '<p>This verification has expired or was already completed.</p>');
  }
  world.log('captcha challenge solved');
  if (wantsJson(req)) {
    return jsonReply(200, {
      redirect: solved.redirect,
      captcha_token: solved.captchaToken,
      expires_in: solved.expiresIn,
    });
  }
  return redirectReply(solved.redirect);
}
