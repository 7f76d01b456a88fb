import cliProgress from 'cli-progress';
import type { Output } from './output.js';

/** How often a bar prints a line when stderr is no terminal (CI logs), in ms. */
const NO_TTY_LINE_MS = 1_000;
/** Updates the ETA averages over: enough to smooth batches that land in bursts. */
const ETA_BUFFER_UPDATES = 50;

/** A bar with a known total: done so far, rate and ETA. */
export interface ProgressBar {
  update(done: number): void;
  /** Draws the last state and ends the bar (a newline on a terminal). */
  stop(): void;
}

/**
 * A progress bar on stderr (`cli-progress`): redrawn in place on a terminal, a line a second
 * otherwise, so that CI logs show it too. `unit` names what is counted.
 */
export function progressBar(out: Output, step: string, total: number, unit: string): ProgressBar {
  const t0 = performance.now();
  const rate = (done: number) => Math.round(done / Math.max((performance.now() - t0) / 1000, 1e-3)).toLocaleString('en-US');
  const bar = new cliProgress.SingleBar({
    format: `${step} [{bar}] {percentage}% | {done}/{all} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} | {duration_formatted}`,
    stream: process.stderr,
    noTTYOutput: !out.tty,
    notTTYSchedule: NO_TTY_LINE_MS,
    etaBuffer: ETA_BUFFER_UPDATES,
    hideCursor: out.tty,
    barsize: 24,
  });
  const all = total.toLocaleString('en-US');
  bar.start(total, 0, { done: '0', all, rate: '0' });
  return {
    update(done) {
      bar.update(done, { done: done.toLocaleString('en-US'), rate: rate(done) });
    },
    stop() {
      bar.stop();
    },
  };
}
