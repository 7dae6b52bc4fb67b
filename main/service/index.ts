/** The token service's public surface (see README, "Token service"). */
export {
  startTokenService,
  DEFAULT_LIMITS,
  type TokenService,
  type TokenServiceOptions,
  type TokenServiceLimits,
} from './token-service.js';
export {
  ClientRegistry,
  ALL_ACCOUNTS,
  CLIENTS_FILE,
  type Client,
  type ClientRegistryOptions,
} from './client-registry.js';
export { AdminCredential, ADMIN_TOKEN_FILE, type AdminCredentialOptions } from './admin-credential.js';
export {
  answerPikPakAuthCall,
  surrogateRefreshToken,
  COMPAT_ERROR_CODES,
  type PikPakAuthCall,
  type PikPakAnswer,
  type PikPakCompatDeps,
} from './pikpak-compat.js';
export { parseListenAddress, isLoopbackAddress, type ListenAddress } from './loopback.js';
export * from './errors/index.js';
export type { Route, Call, Reply, Access, ServiceDeps } from './route.js';
