/** Matches a request to a route: exact paths by map lookup, then patterns in order. */
import { HttpError } from './http-error.js';
import type { Route } from './route.js';

export interface Match {
  readonly route: Route;
  readonly params: readonly string[];
}

const NO_PARAMS: readonly string[] = Object.freeze([]);
/** Longer path parameters than this are never names we issued (accounts and clients are ≤ 64). */
const MAX_PARAM = 128;

export class Router {
  readonly #exact = new Map<string, Route[]>();
  readonly #patterns: Route[] = [];

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      if (typeof route.path === 'string') {
        const list = this.#exact.get(route.path) ?? [];
        list.push(route);
        this.#exact.set(route.path, list);
      } else this.#patterns.push(route);
    }
  }

  /** The route for `method` and `path`; throws 404 `not_found` or 405 `method_not_allowed`. */
  match(method: string, path: string): Match {
    const exact = this.#exact.get(path);
    if (exact) {
      for (const route of exact) if (route.method === method) return { route, params: NO_PARAMS };
      throw methodNotAllowed(exact);
    }
    let allowed: Route[] | undefined;
    for (const route of this.#patterns) {
      const found = (route.path as RegExp).exec(path);
      if (!found) continue;
      if (route.method === method) return { route, params: decodeParams(found) };
      (allowed ??= []).push(route);
    }
    if (allowed) throw methodNotAllowed(allowed);
    throw new HttpError(
      404,
      'not_found',
      'No such endpoint. The API is described in the README ("Token service").',
    );
  }
}

function methodNotAllowed(routes: readonly Route[]): HttpError {
  const allow = routes.map((r) => r.method).join(', ');
  return new HttpError(405, 'method_not_allowed', `Use ${allow} here.`, { headers: { allow } });
}

function decodeParams(found: RegExpExecArray): string[] {
  const params: string[] = [];
  for (let i = 1; i < found.length; i++) {
    let value = found[i]!;
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        throw new HttpError(400, 'bad_request', 'The path is not valid percent-encoding.');
      }
    }
    if (value.length > MAX_PARAM) throw new HttpError(404, 'not_found', 'No such name.');
    params.push(value);
  }
  return params;
}
