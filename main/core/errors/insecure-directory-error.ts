import { BrokerError } from './broker-error.js';

/** A folder that must be private (data folder, socket folder) is not a folder or belongs to someone else. */
export class InsecureDirectoryError extends BrokerError {
  readonly code = 'insecure_directory';
  readonly path: string;
  readonly problem: 'not-a-directory' | 'foreign-owner';
  /** The owner's uid, for `foreign-owner`. */
  readonly ownerUid: number | undefined;

  constructor(path: string, problem: 'not-a-directory' | 'foreign-owner', ownerUid?: number) {
    super(
      problem === 'not-a-directory'
        ? `${path} should be a private folder but is something else; move it away and start again.`
        : `${path} belongs to uid ${ownerUid ?? '?'}, not to this user; refusing to keep tokens or sockets there. ` +
            `Choose another folder or fix its owner.`,
    );
    this.path = path;
    this.problem = problem;
    this.ownerUid = ownerUid;
  }
}
