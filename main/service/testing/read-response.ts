/** One way for every test HTTP client to read an answer: status, headers, text, and JSON if it is. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface ReadResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
}

/** Collects the whole body of `res`; rejects with the response's own error. */
export function readResponse(res: IncomingMessage): Promise<ReadResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
    });
  });
}
