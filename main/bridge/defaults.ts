/** The bridge's defaults, in a module of their own so that CLI help can name them without loading the bridge. */
export const DEFAULT_BRIDGE_ADDRESS = '127.0.0.1:5288';
