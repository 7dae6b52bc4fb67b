/**
 * What to say about a thrown value of unknown type. `catch (error)` gives `unknown`; these replace
 * `(error as Error).message` casts, which print "undefined" for a thrown string or object.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** `ENOENT`, `EACCES`, ... from a Node system error, or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A thrown value as an Error (for rejecting promises and `cause`), keeping Errors as they are. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}
