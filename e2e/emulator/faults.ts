/**
 * Run-time fault injection. A request to a PikPak endpoint draws its faults once, on arrival:
 * every matching `delay` applies (before and/or after the handler), plus at most one other fault
 * (the first matching one, in the order they were added). `count` is spent only by requests the
 * fault actually strikes; `probability` is drawn from the injected `random`.
 */
import * as v from 'valibot';

import { describeIssue } from '../../main/validation/issues.js';

import { FAULT_ENDPOINTS, type FaultSpec, type FaultTiming, type PikPakEndpoint } from './types.js';

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const common = {
  endpoint: v.picklist(FAULT_ENDPOINTS),
  count: v.optional(v.pipe(v.number(), v.integer(), v.gtValue(0))),
  probability: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
};
const timing = v.optional(v.picklist(['before', 'after']));

export const faultSpecSchema = v.variant('kind', [
  v.object({
    ...common,
    kind: v.literal('status'),
    status: int(400, 599),
    body: v.optional(v.string()),
    timing,
  }),
  v.object({ ...common, kind: v.literal('rate-limit') }),
  v.object({ ...common, kind: v.literal('delay'), ms: int(0, 600_000), timing }),
  v.object({ ...common, kind: v.literal('drop'), timing }),
  v.object({
    ...common,
    kind: v.literal('garbage'),
    shape: v.optional(v.picklist(['text', 'json'])),
    timing,
  }),
  v.object({ ...common, kind: v.literal('timeout'), timing }),
]);

/** Validates untrusted input (the admin API, setFault) into a FaultSpec or throws a readable error. */
export function parseFaultSpec(input: unknown): FaultSpec {
  const result = v.safeParse(faultSpecSchema, input);
  if (!result.success) throw new Error(result.issues.map((i) => describeIssue(i, '(root)', '')).join('\n'));
  return result.output as FaultSpec;
}

export type StrikingFault = Exclude<FaultSpec, { kind: 'delay' }>;

export function timingOf(fault: FaultSpec): FaultTiming {
  return 'timing' in fault && fault.timing ? fault.timing : 'before';
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
}

export interface FaultDraw {
  delaysBefore: number;
  delaysAfter: number;
  /** The one non-delay fault striking this request, if any. */
  fault?: StrikingFault;
  /** How many faults struck (delays included), for stats. */
  struck: number;
}

export class FaultEngine {
  readonly #random: (bytes: number) => Buffer;
  #active: ActiveFault[] = [];

  constructor(random: (bytes: number) => Buffer) {
    this.#random = random;
  }

  add(spec: FaultSpec): void {
    this.#active.push({ spec, remaining: spec.count ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#active = [];
  }

  list(): FaultSpec[] {
    return this.#active.map((f) =>
      Number.isFinite(f.remaining) ? { ...f.spec, count: f.remaining } : { ...f.spec },
    );
  }

  draw(endpoint: PikPakEndpoint): FaultDraw {
    const draw: FaultDraw = { delaysBefore: 0, delaysAfter: 0, struck: 0 };
    for (const active of this.#active) {
      const { spec } = active;
      if (spec.endpoint !== '*' && spec.endpoint !== endpoint) continue;
      if (spec.kind !== 'delay' && draw.fault) continue;
      if (spec.probability !== undefined && this.#uniform() >= spec.probability) continue;
      active.remaining -= 1;
      draw.struck += 1;
      if (spec.kind === 'delay') {
        if (timingOf(spec) === 'after') draw.delaysAfter += spec.ms;
        else draw.delaysBefore += spec.ms;
      } else {
        draw.fault = spec;
      }
    }
    this.#active = this.#active.filter((f) => f.remaining > 0);
    return draw;
  }

  /** Uniform [0, 1) from the injected byte source. */
  #uniform(): number {
    return this.#random(4).readUInt32BE(0) / 0x1_0000_0000;
  }
}
