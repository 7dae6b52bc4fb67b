/**
 * The pages as files: each loads its compiled script from where `npm run build` puts it (so the
 * same HTML works from Electron's loadFile and from the test server), carries a strict CSP, and
 * has no inline script or style.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PAGES } from '../main/shell/windows.js';
import { REPO } from './testing/page-server.js';

const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const base = JSON.parse(readFileSync(join(REPO, 'tsconfig.json'), 'utf8')) as {
  compilerOptions: { outDir: string };
};

describe('renderer pages', () => {
  it('npm run build compiles renderer/ into dist/renderer/ (where the pages look)', () => {
    assert.ok(build.include.includes('renderer'));
    assert.equal(base.compilerOptions.outDir, 'dist');
    assert.ok(
      existsSync(join(REPO, 'renderer', 'preload.cts')),
      'the preload, built as dist/renderer/preload.cjs',
    );
  });

  for (const [kind, page] of Object.entries(PAGES))
    it(`${kind}: ${page.file} loads ../dist/renderer/${page.file.replace('.html', '.js')}, under a strict CSP`, () => {
      const html = readFileSync(join(REPO, 'renderer', page.file), 'utf8');
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.equal(scripts.length, 1);
      const [, attributes, body] = scripts[0]!;
      assert.match(attributes!, /type="module"/);
      const src = /src="([^"]+)"/.exec(attributes!)?.[1];
      assert.equal(src, `../dist/renderer/${page.file.replace('.html', '.js')}`);
      assert.equal(body!.trim(), '', 'no inline script');
      assert.ok(existsSync(join(REPO, 'renderer', page.file.replace('.html', '.ts'))));
      assert.doesNotMatch(html, /<style\b|\sstyle="|\son[a-z]+="/i, 'no inline style or handler');
      const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
      ])
        assert.ok(csp.includes(directive), `${page.file}: ${directive}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(html, /<html lang="en">/);
      assert.match(html, /<link rel="stylesheet" href="\.\/style\.css" \/>/);
    });
});
