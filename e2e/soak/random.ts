/**
 * Seeded randomness for the soak: one seed drives the emulator's fault draws (and its token
 * bytes) and every consumer's pacing, so a run can be repeated with the same fault pattern. Timing
 * still differs from run to run (which request draws which number depends on the interleaving), so
 * two runs with one seed are alike, not identical.
 */

/** mulberry32, the one the unit tests use; uniform in [0, 1). Not for secrets. */
export { seededRandom } from '../../main/core/testing/fake-clock.js';

/** A byte source (the emulator's `random` option) drawing from `next`. */
export function seededBytes(next: () => number): (bytes: number) => Buffer {
  return (bytes) => {
    const out = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) out[i] = Math.floor(next() * 256);
    return out;
  };
}

/** An independent stream for one purpose (consumer k, the baseline…), derived from the run's seed. */
export function childSeed(seed: number, stream: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(stream + 1, 0xc2b2ae35)) >>> 0;
}

/** Uniform integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
