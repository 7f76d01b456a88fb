/** Exit codes of the `reel` command, for scripts. */
export const ExitCode = {
  /** Done; for `status`, the cluster is healthy. */
  Ok: 0,
  /** The command failed (cannot connect, a drain timed out, …). */
  Failed: 1,
  /** Bad usage: unknown flag, bad value, unreadable config. */
  Usage: 2,
  /** `status`: the cluster answers but is degraded (unowned or moving shards, a silent node). */
  Degraded: 3,
  /** The named node or shard does not exist. */
  NotFound: 4,
} as const;

/** An error that carries the exit code the command ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
