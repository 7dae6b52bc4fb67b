/** The AList bridge's public surface (see README, "Use with AList"). */
export {
  startBridge,
  DEFAULT_BRIDGE_LIMITS,
  type Bridge,
  type BridgeLimits,
  type BridgeOptions,
  type BridgeStats,
  type BridgeUpstream,
} from './proxy-server.js';
export {
  startBrokerBridge,
  parseTunnelMap,
  DEFAULT_BRIDGE_ADDRESS,
  type BridgeSettings,
  type BrokerBridgeDeps,
} from './broker-bridge.js';
export {
  LocalCa,
  CA_CERT_FILE,
  CA_KEY_ACCOUNT,
  CA_KEY_KIND,
  CA_PERMITTED_DOMAINS,
  type LeafCertificate,
  type LocalCaOptions,
} from './local-ca.js';
export { LeafCache, type LeafCacheOptions } from './leaf-cache.js';
export { readNameConstraints, type NameConstraintsView } from './name-constraints.js';
export { BridgeAddressError, parseBridgeAddress } from './errors.js';
