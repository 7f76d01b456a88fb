#!/usr/bin/env node
import { Command } from 'commander';
import { consoleOutput } from './output.js';
import { runStart } from './start.js';

const program = new Command();
program
  .name('reel')
  .description('reel: an actor-model compute cluster that learns and serves recommendations')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('start')
  .description('run the main job on the in-process transport (no NATS needed): load ratings into user and title actors and report')
  .option('--data <path>', 'MovieLens folder (u.data or ratings.dat) or ratings file; default: ../shared/datasets/ml-100k if present')
  .option('--synthetic', 'use generated ratings instead of MovieLens')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { data?: string; synthetic?: boolean; json?: boolean }) => {
    await runStart(opts, consoleOutput());
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`reel: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
