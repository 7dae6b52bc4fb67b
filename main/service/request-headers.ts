/**
 * One pass over a request's raw headers, picking out what the service looks at, without building
 * Node's `req.headers` object. Header names compare case-insensitively; a repeated header that
 * must be single (Host, Authorization, Content-Length, Content-Type) marks the request bad.
 */
export interface RequestHeaders {
  host: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  /** An `Origin` or `Sec-Fetch-*` header: the request comes from a browser. */
  browser: boolean;
  duplicate: boolean;
}

const SEC_FETCH = /^sec-fetch-/i;

export function scanHeaders(raw: readonly string[]): RequestHeaders {
  const h: RequestHeaders = {
    host: undefined,
    authorization: undefined,
    contentType: undefined,
    contentLength: undefined,
    transferEncoding: undefined,
    browser: false,
    duplicate: false,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (h.host !== undefined) h.duplicate = true;
          h.host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'origin') h.browser = true;
        break;
      case 12:
        if (name.toLowerCase() === 'content-type') {
          if (h.contentType !== undefined) h.duplicate = true;
          h.contentType = value;
        }
        break;
      case 13:
        if (name.toLowerCase() === 'authorization') {
          if (h.authorization !== undefined) h.duplicate = true;
          h.authorization = value;
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (h.contentLength !== undefined) h.duplicate = true;
          h.contentLength = value;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') h.transferEncoding = value;
        break;
    }
    if (name.length > 10 && SEC_FETCH.test(name)) h.browser = true;
  }
  return h;
}
