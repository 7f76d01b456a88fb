/**
 * Waits until `probe()` returns true, polling; on timeout the error names the phase and
 * what `describe()` says of the state then. A condition, never a fixed sleep.
 */
export async function waitFor(
  phase: string,
  probe: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() >= until) {
      const state = opts.describe ? ` (state: ${JSON.stringify(opts.describe())})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${phase}${state}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 5));
  }
}

/** Resolves after `ms`; for giving time a chance to pass, never for synchronisation. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
