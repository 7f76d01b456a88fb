import type { EpochSummary, JobStatus, TrainSpec } from '../actors/training/index.js';
import type { Rating, Title } from '../data/types.js';
import type { ActorSystem } from '../runtime/index.js';

/**
 * Where `reel start` runs its job: a one-node cluster in this process on the in-process
 * transport (`start-local.ts`), or a node in this process on a real cluster over NATS
 * (`start-nats.ts`). The job's steps (`start.ts`) are the same on both.
 */
export interface StartCluster {
  /** Where the job runs, as the first line says it. */
  readonly where: string;
  /** What `--json` reports of where it runs: the NATS URL, prefix and node (no URL or prefix in process). */
  readonly summary: { nats: string | null; prefix: string | null; node: string };
  /** Asks the actors what they hold and what they recommend. */
  readonly system: ActorSystem;
  /** The id the quick model's version is written under. */
  readonly version: string;
  /** Sends every title's metadata, then each rating to its user and its title actor; resolves with the ratings sent. */
  load(titles: Iterable<Title>, ratings: AsyncIterable<Rating>, onProgress: (records: number) => void): Promise<number>;
  /** Trains `spec` on what the user actors hold and, once it is done, makes it the version served. */
  train(spec: TrainSpec, onEpoch: (e: EpochSummary) => void, onRestart: (why: string) => void): Promise<JobStatus>;
  /** Serves the reel.v1 gRPC API on `host`:`port` (0: any free port); resolves with the port. */
  serve(host: string, port: number): Promise<number>;
  /** Serves until SIGINT or SIGTERM, then stops serving and stops (in a cluster: hands its shards off). */
  serveUntilStopped(): Promise<void>;
  /** Stops what runs (after `--once`, or a failure); in a cluster its shards are handed off first. Idempotent. */
  close(): Promise<void>;
}
