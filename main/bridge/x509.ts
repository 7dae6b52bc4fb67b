/**
 * @peculiar/x509 behind the one import that must precede it: its dependency injection (tsyringe)
 * needs the Reflect metadata API when the module loads. Every bridge file imports x509 from here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

export * as x509 from '@peculiar/x509';

/** Node's WebCrypto, typed as the DOM's `Crypto` that @peculiar/x509 expects. */
export const crypto = webcrypto as unknown as Crypto;
