/** Reads a password without it ever touching argv, the environment or the terminal's echo. */
import { Secret } from '../core/secret.js';
import { CliError, EXIT } from './exit-codes.js';

/** All of stdin, minus one trailing newline (what `echo pw |` and `printf pw |` both give). */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<Secret> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!text) throw new CliError('--password-stdin was given but standard input was empty.', EXIT.usage);
  return new Secret(text);
}

/** Prompts on the terminal with echo off. */
export async function promptPassword(prompt: string): Promise<Secret> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY)
    throw new CliError(
      'No password: pass it on standard input with --password-stdin (or run in a terminal to be asked).',
      EXIT.usage,
    );
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise<Secret>((resolve, reject) => {
    let value = '';
    const done = (error?: CliError): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(new Secret(value));
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n')
          return done(value ? undefined : new CliError('No password entered.', EXIT.usage));
        if (ch === '\u0003') return done(new CliError('Cancelled.', EXIT.usage));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
