/**
 * Request bodies in (JSON or form-encoded, bounded) and replies out, for the emulator's routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;
/** A too-large body is drained (so the client sees the 413) up to this much, then cut. */
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;

export interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

export function jsonReply(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return {
    status,
    body: JSON.stringify(value),
    contentType: 'application/json; charset=utf-8',
    ...(headers ? { headers } : {}),
  };
}

export function textReply(status: number, body: string, contentType = 'text/plain; charset=utf-8'): Reply {
  return { status, body, contentType };
}

export function redirectReply(location: string): Reply {
  return { status: 302, body: '', contentType: 'text/plain; charset=utf-8', headers: { location } };
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, {
    'content-type': reply.contentType,
    'content-length': String(Buffer.byteLength(reply.body)),
    'cache-control': 'no-store',
    ...reply.headers,
  });
  res.end(reply.body);
}

export class BodyTooLargeError extends Error {}
export class BodyParseError extends Error {}

/** Reads the whole body, at most MAX_BODY_BYTES; throws BodyTooLargeError beyond that. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_DRAIN_BYTES) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DRAIN_BYTES) throw new BodyTooLargeError();
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
  return Buffer.concat(chunks);
}

export type Fields = Record<string, unknown>;

/**
 * JSON objects and `application/x-www-form-urlencoded` bodies both become a plain object;
 * without a usable content type, a body starting with `{` is JSON, anything else a form.
 */
export function parseBody(raw: Buffer, contentType: string | undefined): Fields {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const asJson =
    type.endsWith('json') || (type !== 'application/x-www-form-urlencoded' && text.startsWith('{'));
  if (!asJson) return Object.fromEntries(new URLSearchParams(text));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BodyParseError('body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BodyParseError('body must be a JSON object');
  }
  return value as Fields;
}

/** A string field, or undefined when absent or not a string. */
export function str(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  return typeof value === 'string' ? value : undefined;
}

/** Any JSON value (the admin API takes objects and arrays). */
export function parseJsonValue(raw: Buffer): unknown {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyParseError('body is not valid JSON');
  }
}
