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
  /** The named node, shard or model version does not exist. */
  NotFound: 4,
} as const;

/** The name of an exit code, the `code` of a `--json` error unless a more precise one is given. */
export function exitCodeName(exitCode: number): string {
  return Object.entries(ExitCode).find(([, v]) => v === exitCode)?.[0] ?? 'Failed';
}

/**
 * An error that carries the exit code the command ends with, and a stable `code` for scripts
 * (`--json` prints `{"error": {code, message, exitCode}}`): the exit code's name (`Failed`,
 * `Usage`, `NotFound`) or a more precise one (`Unreachable`, `NoCluster`, `PortInUse`).
 */
export class CliError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Failed,
    code?: string,
  ) {
    super(message);
    this.name = 'CliError';
    this.code = code ?? exitCodeName(exitCode);
  }
}
