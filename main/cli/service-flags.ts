/** The flags `daemon` and `bridge` run with and `install-service` bakes into a unit: one definition. */
import { Option } from 'commander';

export const notifyCommandOption = (): Option =>
  new Option(
    '--notify-command <command>',
    'run this through /bin/sh -c when an account needs a sign-in, recovers, or the secret store is unavailable; ' +
      'it gets PIKPAK_BROKER_EVENT, PIKPAK_BROKER_ACCOUNT and PIKPAK_BROKER_MESSAGE (never a secret)',
  );

export const listenOption = (): Option =>
  new Option(
    '--listen <address>',
    'also serve the token service on TCP, loopback only (e.g. 127.0.0.1:8765); off by default',
  );

export const bridgeOption = (): Option =>
  new Option(
    '--bridge <address>',
    'also run the AList bridge here, loopback only (e.g. 127.0.0.1:5288); AList then uses HTTPS_PROXY=http://alist:SECRET@127.0.0.1:5288 with a client secret as SECRET',
  );
