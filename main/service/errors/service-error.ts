import { BrokerError } from '../../core/errors/index.js';

/**
 * Base of the errors the token service throws at start-up or from its stores (client registry,
 * admin credential). `code` is stable; `message` says what to do and never holds a secret.
 */
export abstract class ServiceError extends BrokerError {}
