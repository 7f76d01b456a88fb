import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

/**
 * `<dir>/cluster.json`: where `reel cluster up` says its cluster is, so that every later command
 * run from the same folder talks to that cluster and not to whatever answers on the default URL
 * (these machines run a system nats-server on :4222). It stays after the cluster stops: a later
 * command then says that nothing answers at the URL it names, instead of quietly asking another
 * server.
 */
export interface ClusterFile {
  /** The cluster's NATS URL, `nats://127.0.0.1:PORT`. */
  nats: string;
  /** The cluster's subject and bucket prefix. */
  prefix: string;
  /**
   * A secured cluster (`cluster up --secure`): the operator role's credentials file and client
   * certificate, and the CA, that later commands in the folder connect with.
   */
  credentials?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Environment variable naming the folder of `reel cluster up` (its `--dir`). */
export const REEL_DIR_ENV = 'REEL_DIR';
/** The folder of `reel cluster up` when neither `--dir` nor REEL_DIR names one, relative to the working directory. */
export const DEFAULT_CLUSTER_DIR = '.reel';
const FILE = 'cluster.json';

/** The folder `reel cluster up` uses by default, and where other commands look for its cluster.json. */
export function clusterDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[REEL_DIR_ENV] || DEFAULT_CLUSTER_DIR;
}

/** Writes `<dir>/cluster.json` whole (a rename: a reader never sees half a file). */
export function writeClusterFile(dir: string, f: ClusterFile): string {
  const path = join(dir, FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(f, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** A problem with cluster.json: names the file. */
export class ClusterFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterFileError';
  }
}

/**
 * Reads `<dir>/cluster.json` if there is one. `shown` is the path as messages name it: relative
 * to the working directory when it is below it (`.reel/cluster.json`).
 */
export function readClusterFile(dir: string, cwd: string = process.cwd()): (ClusterFile & { shown: string }) | undefined {
  const path = resolve(cwd, dir, FILE);
  const rel = relative(cwd, path);
  const shown = rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClusterFileError(`${shown}: ${(err as Error).message}`);
  }
  let v: Partial<ClusterFile>;
  try {
    v = JSON.parse(text) as Partial<ClusterFile>;
  } catch (err) {
    throw new ClusterFileError(`${shown}: ${(err as Error).message} (written by reel cluster up; delete it or run that again)`);
  }
  if (typeof v?.nats !== 'string' || v.nats === '' || typeof v.prefix !== 'string' || v.prefix === '') {
    throw new ClusterFileError(`${shown}: expected {"nats": URL, "prefix": NAME} (written by reel cluster up; delete it or run that again)`);
  }
  const secure: Partial<ClusterFile> = {};
  for (const k of ['credentials', 'tlsCa', 'tlsCert', 'tlsKey'] as const) {
    const f = v[k];
    if (f === undefined) continue;
    if (typeof f !== 'string' || f === '') throw new ClusterFileError(`${shown}: "${k}" must be a file path (written by reel cluster up --secure; delete it or run that again)`);
    secure[k] = f;
  }
  return { nats: v.nats, prefix: v.prefix, ...secure, shown };
}
