export { ServiceError } from './service-error.js';
export { InvalidListenAddressError } from './invalid-listen-address-error.js';
export { SocketInUseError } from './socket-in-use-error.js';
export { ListenerInUseError } from './listener-in-use-error.js';
export { ClientRegistryCorruptError } from './client-registry-corrupt-error.js';
export { ClientExistsError, ClientNotFoundError, InvalidClientError } from './client-errors.js';
export { AdminCredentialError } from './admin-credential-error.js';
