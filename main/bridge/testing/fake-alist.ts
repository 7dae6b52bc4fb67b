/**
 * A fake AList admin API that answers `GET /api/admin/storage/list` the way AList v3 does
 * (server/handles/storage.go, server/common/resp.go, server/middlewares/auth.go): always HTTP 200,
 * `{code, message, data}`, the admin token as the bare Authorization header, page/per_page paging
 * (per_page < 1 means all), and model.Storage objects whose `addition` is a JSON string.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStorage {
  mount_path: string;
  driver: string;
  status?: string;
  disabled?: boolean;
  addition: Record<string, unknown>;
}

export interface FakeAlist {
  readonly url: string;
  readonly requests: { url: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export async function startFakeAlist(token: string, storages: FakeStorage[]): Promise<FakeAlist> {
  const requests: FakeAlist['requests'] = [];
  const rows = storages.map((s, i) => ({
    id: i + 1,
    mount_path: s.mount_path,
    order: i,
    driver: s.driver,
    cache_expiration: 30,
    status: s.status ?? 'work',
    addition: JSON.stringify(s.addition),
    remark: '',
    modified: '2026-11-25T17:00:00.000000000+00:00',
    disabled: s.disabled ?? false,
    enable_sign: false,
    order_by: 'name',
    order_direction: 'asc',
    extract_folder: '',
    web_proxy: false,
    webdav_policy: '302_redirect',
    proxy_range: false,
    down_proxy_url: '',
  }));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://alist');
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const send = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/api/admin/storage/list') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('404 page not found');
    }
    if (!req.headers.authorization)
      return send({ code: 401, message: 'Guest user is disabled, login please', data: null });
    if (req.headers.authorization !== token)
      return send({ code: 401, message: "that's not even a token", data: null });
    const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
    const perPage = Number(url.searchParams.get('per_page')) || 0;
    const size = perPage < 1 ? rows.length : perPage;
    const content = rows.slice((page - 1) * size, page * size);
    send({ code: 200, message: 'success', data: { content, total: rows.length } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
