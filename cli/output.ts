/** Where a command writes: results to stdout, progress and logs to stderr. */
export interface Output {
  /** A line of the command's result. */
  line(s: string): void;
  /** The whole result as JSON (`--json`). */
  json(v: unknown): void;
  /** A log line (stderr). */
  info(s: string): void;
  /** Whether stderr is a terminal (progress redraws in place). */
  readonly tty: boolean;
}

/**
 * A reader that goes away early (`reel start | head -1`, a pager that quits) is not an error worth
 * a stack trace: writes to it are dropped, and the command ends as it would have, with its own
 * exit code (a node keeps serving). Other write errors stay fatal.
 */
function dropWritesToClosedReader(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    // EIO: the terminal hung up. ERR_STREAM_DESTROYED: a write after the stream was closed by one of these.
    if (err.code === 'EPIPE' || err.code === 'EIO' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

/** Output to this process's stdout and stderr; a closed reader on either is not an error. */
export function consoleOutput(): Output {
  dropWritesToClosedReader(process.stdout);
  dropWritesToClosedReader(process.stderr);
  return {
    line: (s) => process.stdout.write(`${s}\n`),
    json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
    info: (s) => process.stderr.write(`${s}\n`),
    tty: Boolean(process.stderr.isTTY),
  };
}

/** Progress of a long step on stderr: redrawn in place on a terminal, a line a second otherwise. */
export function progress(out: Output, step: string, unit: string): { update: (n: number) => void; done: (n: number) => void } {
  const t0 = Date.now();
  let last = 0;
  const render = (n: number) => `${step}: ${n.toLocaleString('en-US')} ${unit} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
  return {
    update(n) {
      const now = Date.now();
      if (now - last < (out.tty ? 100 : 1000)) return;
      last = now;
      if (out.tty) process.stderr.write(`\r${render(n)}`);
      else out.info(render(n));
    },
    done(n) {
      if (out.tty) process.stderr.write(`\r${render(n)}\n`);
      else out.info(render(n));
    },
  };
}
