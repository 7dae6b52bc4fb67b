/**
 * One wording for every schema failure (settings file, clients file, secrets.age, HTTP bodies,
 * PikPak answers): `path.to.field: message`. Built from the issue's kind and what was expected,
 * never from the received value (it may be a secret); only messages we wrote ourselves (regex,
 * check) are passed through.
 */
import type * as v from 'valibot';

export type Issue = v.BaseIssue<unknown>;

/** An unknown key is reported on its object (`accounts.0`), not on the key itself. */
function isUnknownKey(issue: Issue): boolean {
  return issue.type === 'strict_object' && issue.path?.at(-1)?.origin === 'key';
}

/** The dotted path of the field that failed; '' for the value itself. */
export function issuePath(issue: Issue): string {
  const path = issue.path ?? [];
  const items = isUnknownKey(issue) ? path.slice(0, -1) : path;
  return items.map((item) => String(item.key)).join('.');
}

function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

function sizeOf(issue: Issue): string {
  return Array.isArray(issue.input) ? 'items' : 'characters';
}

/** A short, stable name for the kind of failure (logged with PikPak answers; no values). */
export function issueCode(issue: Issue): string {
  if (isUnknownKey(issue)) return 'unrecognized_keys';
  if (issue.kind === 'schema') {
    if (issue.type === 'picklist' || issue.type === 'literal') return 'invalid_value';
    if (issue.type === 'union') return 'invalid_union';
    return 'invalid_type';
  }
  if (issue.type.startsWith('min_') || issue.type === 'gt_value') return 'too_small';
  if (issue.type.startsWith('max_') || issue.type === 'lt_value') return 'too_big';
  if (issue.type === 'regex') return 'invalid_format';
  if (issue.type === 'integer' || issue.type === 'finite') return 'invalid_type';
  return 'custom';
}

/** What is wrong, in words, without the value. */
export function issueMessage(issue: Issue): string {
  if (isUnknownKey(issue)) return `Unrecognized key: ${JSON.stringify(String(issue.path?.at(-1)?.key))}`;
  switch (issue.type) {
    case 'picklist':
      return `Invalid option: expected one of ${issue.expected
        ?.replace(/^\(|\)$/g, '')
        .split(' | ')
        .join('|')}`;
    case 'literal':
      return `Invalid input: expected ${issue.expected}`;
    case 'min_length':
      return `Too small: expected ${received(issue.input)} to have >=${issue.requirement} ${sizeOf(issue)}`;
    case 'max_length':
      return `Too big: expected ${received(issue.input)} to have <=${issue.requirement} ${sizeOf(issue)}`;
    case 'min_value':
      return `Too small: expected number to be >=${issue.requirement}`;
    case 'gt_value':
      return `Too small: expected number to be >${issue.requirement}`;
    case 'integer':
      return 'Invalid input: expected int, received number';
    case 'finite':
      return 'Invalid input: expected a finite number';
    case 'regex':
    case 'check':
    case 'raw_check':
      return issue.message;
    default:
      return issue.kind === 'schema'
        ? `Invalid input: expected ${issue.expected}, received ${received(issue.input)}`
        : `Invalid value (${issue.type})`;
  }
}

/** `accounts.0.platform: Invalid option: expected one of "android"|"web"|"pc"`; `root` names the value itself. */
export function describeIssue(issue: Issue | undefined, root: string, fallback: string): string {
  if (!issue) return fallback;
  const where = issuePath(issue);
  return `${where || root}: ${issueMessage(issue)}`;
}
