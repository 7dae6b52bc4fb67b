/**
 * Serves the windows' pages over http://127.0.0.1 for tests in Chromium, with the same layout the
 * app loads them from: `renderer/<page>.html` and `renderer/style.css` as they are, and each
 * `dist/renderer/<name>.js` the HTML refers to compiled on the fly from `renderer/<name>.ts`
 * (TypeScript's own transpiler), so tests need no build step and see the current source.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import ts from 'typescript';

export const REPO = join(import.meta.dirname, '..', '..');

export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
};

/** `dist/renderer/x.js` → the TypeScript source it is built from, or undefined. */
export function sourceOf(path: string): string | undefined {
  const match = /^dist\/renderer\/([a-z-]+)\.js$/.exec(path);
  return match ? join(REPO, 'renderer', `${match[1]}.ts`) : undefined;
}

export async function compileModule(file: string): Promise<string> {
  const source = await readFile(file, 'utf8');
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
    },
  }).outputText;
}

export async function startPageServer(): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
        /^\/+/,
        '',
      );
      const ext = path.slice(path.lastIndexOf('.'));
      if (path === 'favicon.ico') {
        // Chromium asks for it; Electron's file:// pages do not.
        res.writeHead(204);
        res.end();
        return;
      }
      try {
        let body: string | Buffer;
        const source = sourceOf(path);
        if (source) body = await compileModule(source);
        else if (/^renderer\/[a-z-]+\.(html|css)$/.test(path)) body = await readFile(join(REPO, path));
        else throw Object.assign(new Error('not served'), { code: 'ENOENT' });
        res.writeHead(200, {
          'content-type': TYPES[ext] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        });
        res.end(body);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
