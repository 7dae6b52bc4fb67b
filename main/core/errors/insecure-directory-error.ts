import { BrokerError } from './broker-error.js';

export type InsecureDirectoryProblem = 'not-a-directory' | 'foreign-owner' | 'writable-by-others';

/**
 * A folder that must be private (data folder, socket folder) is not a folder, belongs to someone
 * else, or can be changed by other users (who could then swap our socket for theirs).
 */
export class InsecureDirectoryError extends BrokerError {
  readonly code = 'insecure_directory';
  readonly path: string;
  readonly problem: InsecureDirectoryProblem;
  /** The owner's uid, for `foreign-owner`. */
  readonly ownerUid: number | undefined;

  constructor(path: string, problem: InsecureDirectoryProblem, ownerUid?: number) {
    super(
      problem === 'not-a-directory'
        ? `${path} should be a private folder but is something else; move it away and start again.`
        : problem === 'foreign-owner'
          ? `${path} belongs to uid ${ownerUid ?? '?'}, not to this user; refusing to keep tokens or sockets there. ` +
            `Choose another folder or fix its owner.`
          : `${path} can be changed by other users, who could replace the broker's socket with their own; ` +
            `choose a folder only you can write to (or leave --socket at its default).`,
    );
    this.path = path;
    this.problem = problem;
    this.ownerUid = ownerUid;
  }
}
