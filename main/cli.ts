#!/usr/bin/env node
/** CLI entry: `pikpak-token-broker <command>`. */
import { buildProgram } from './cli/program.js';
import { reportError } from './cli/report-error.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
