/** PikPak host URLs as the client takes them: http(s), no query, fragment or credentials. */
export function normalizeBaseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${name} must be http(s)`);
  if (url.search || url.hash) throw new TypeError(`${name} must not carry a query or fragment`);
  if (url.username || url.password) throw new TypeError(`${name} must not carry credentials`);
  return value.replace(/\/+$/, '');
}
