/**
 * Request bodies: read with a hard size bound (Content-Length is checked up front by the caller;
 * here the streamed bytes are counted too, for chunked bodies and lying clients), then parsed as
 * a JSON object or an urlencoded form. Parse errors never echo the body.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

export const MAX_BODY_BYTES = 64 * 1024;

export const bodyTooLarge = (limit: number): HttpError =>
  new HttpError(413, 'body_too_large', `Request bodies are limited to ${limit} bytes.`);

/** Reads the whole body; rejects with 413 as soon as more than `limit` bytes arrived. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // an oversized body is discarded while the 413 goes out
      size += chunk.length;
      if (size > limit) fail(bodyTooLarge(limit));
      else chunks.push(chunk);
    });
    req.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', (error) => fail(error));
    req.once('close', () => fail(new Error('the client went away before sending its whole body')));
  });
}

export function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(?:;|$)/i.test(contentType);
}

export function isFormType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType);
}

export type JsonObject = Record<string, unknown>;

/** A JSON object, or undefined for an empty body; anything else is a 400 `invalid_json`. */
export function parseJsonObject(body: Buffer | string): JsonObject | undefined {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpError(400, 'invalid_json', 'The request body must be a JSON object.');
  return value as JsonObject;
}

/** An urlencoded form as an object of strings (the last value wins for a repeated key). */
export function parseForm(body: Buffer | string): JsonObject {
  return Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')));
}
