/**
 * "Longest time without a valid token", measured the same way for every consumer: the longest
 * interval between two consecutive successful drive calls made with a token from the broker
 * (PikPak — the emulator — accepted it), counting the start of the load → the first success and the
 * last success → the end of the load as intervals too. A consumer that never succeeds has one gap,
 * the whole run. Pacing between calls (100–300 ms) is inside every interval, so a healthy consumer
 * shows gaps of a few hundred milliseconds.
 */
export interface ValidityFigures {
  /** Drive calls that PikPak accepted. */
  readonly validUses: number;
  readonly longestGapMs: number;
  /** When the longest gap began, in ms after the load started. */
  readonly longestGapStartMs: number;
  /** Gaps longer than 2 s (a consumer that noticed an outage). */
  readonly gapsOver2s: number;
}

export class ValidityTracker {
  readonly #start: number;
  #last: number;
  #uses = 0;
  #longest = 0;
  #longestStart = 0;
  #over2s = 0;

  constructor(start: number) {
    this.#start = start;
    this.#last = start;
  }

  /** A drive call with a broker token succeeded at `at`. */
  ok(at = Date.now()): void {
    this.#uses += 1;
    this.#interval(at);
  }

  /** The figures, closing the last interval at `end` (the end of the load). */
  figures(end: number): ValidityFigures {
    const open = Math.max(0, end - this.#last);
    let longest = this.#longest;
    let longestStart = this.#longestStart;
    if (open > longest) {
      longest = open;
      longestStart = this.#last - this.#start;
    }
    return {
      validUses: this.#uses,
      longestGapMs: longest,
      longestGapStartMs: longestStart,
      gapsOver2s: this.#over2s + (open > 2000 ? 1 : 0),
    };
  }

  #interval(at: number): void {
    const gap = at - this.#last;
    if (gap > this.#longest) {
      this.#longest = gap;
      this.#longestStart = this.#last - this.#start;
    }
    if (gap > 2000) this.#over2s += 1;
    this.#last = Math.max(this.#last, at);
  }
}
