import {
  latestCheckpoint,
  listCheckpoints,
  UnknownModelVersion,
  type BlobStore,
  type CheckpointEntry,
  type ModelManifest,
  type ModelRegistry,
} from '../actors/training/index.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { activateVersion, ClusterClient, FOLLOW_ACTIVE_MS, openExistingCheckpointStore, openExistingModelRegistry, type Activation } from '../cluster/index.js';
import { InvalidArgument } from '../runtime/index.js';
import { operatorConnection } from './cluster-connect.js';
import { CliError, ExitCode } from './exit-codes.js';
import { exportCheckpoint, type ExportFormat } from './models-export.js';
import type { Output } from './output.js';
import { table } from './status.js';

/** The cluster's registry and checkpoint store as an operator opens them: nothing created, either may not exist yet. */
interface ModelStores {
  prefix: string;
  nc: NatsConnection;
  registry: ModelRegistry | undefined;
  blobs: BlobStore | undefined;
  close(): Promise<void>;
}

async function openModelStores(flags: Record<string, unknown>): Promise<ModelStores> {
  const { nc, settings, close } = await operatorConnection(flags);
  try {
    const [registry, blobs] = await Promise.all([openExistingModelRegistry(nc, settings.prefix), openExistingCheckpointStore(nc, settings.prefix)]);
    return { prefix: settings.prefix, nc, registry, blobs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Runs `body` on the opened stores and closes them. */
async function withStores<T>(flags: Record<string, unknown>, body: (s: ModelStores) => Promise<T>): Promise<T> {
  const stores = await openModelStores(flags);
  try {
    return await body(stores);
  } finally {
    await stores.close();
  }
}

function notFound(version: string, prefix: string): CliError {
  return new CliError(`no model version '${version}' in cluster '${prefix}' ('reel models' lists them)`, ExitCode.NotFound);
}

async function requireVersion(s: ModelStores, version: string): Promise<ModelManifest> {
  const m = await s.registry?.get(version);
  if (!m) throw notFound(version, s.prefix);
  return m;
}

/** Metrics a listing shows first, when a version has them. */
const KEY_METRICS = ['validation_rmse', 'rmse', 'train_rmse', 'ndcg_at_10', 'recall_at_10', 'loss'];
/** Metrics shown per version in a listing. */
const LISTED_METRICS = 2;

function metricText(name: string, v: number): string {
  return `${name}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`;
}

function keyMetrics(m: ModelManifest): string {
  const names = Object.keys(m.metrics);
  const chosen = [...KEY_METRICS.filter((k) => names.includes(k)), ...names.filter((k) => !KEY_METRICS.includes(k)).sort()].slice(0, LISTED_METRICS);
  return chosen.map((k) => metricText(k, m.metrics[k]!)).join(' ') || '-';
}

/** A wall-clock label in UTC, to the minute: `2026-11-30 11:05Z`. */
function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

export function renderModelList(versions: ModelManifest[], prefix: string): string {
  if (versions.length === 0) return `no model versions in cluster '${prefix}' yet ('reel train' makes one)`;
  const rows = [['VERSION', 'MODEL', 'STATE', 'FACTORS', 'EPOCHS', 'METRICS', 'CREATED']];
  for (const m of versions) rows.push([m.id, m.model, m.state, String(m.factors), `${m.epochsDone}/${m.epochs}`, keyMetrics(m), when(m.createdAtMs)]);
  return table(rows);
}

/** `reel models` / `reel models list`. */
export async function runModelsList(flags: Record<string, unknown>, out: Output): Promise<number> {
  return withStores(flags, async (s) => {
    const versions = (await s.registry?.list()) ?? [];
    if (flags.json) out.json({ active: (await s.registry?.active()) ?? null, versions });
    else out.line(renderModelList(versions, s.prefix));
    return ExitCode.Ok;
  });
}

export function renderModel(m: ModelManifest, checkpoints: CheckpointEntry[]): string {
  const complete = checkpoints.filter((c) => c.complete).map((c) => c.epoch);
  const rows = [
    ['model', `${m.model}, ${m.factors} factors, seed ${m.seed}`],
    ['epochs', `${m.epochsDone} of ${m.epochs} done`],
    ['hyperparameters', Object.entries(m.hyperparameters).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['metrics', Object.entries(m.metrics).map(([k, v]) => metricText(k, v)).join(' ') || '-'],
    ['data', `fingerprint ${m.dataFingerprint}`],
    ['created', `${when(m.createdAtMs)}, updated ${when(m.updatedAtMs)}`],
    ['checkpoint', m.checkpoint ? `epoch ${m.checkpoint.epoch} (${m.checkpoint.prefix})` : 'none yet'],
    ['stored', complete.length ? `complete checkpoints of epochs ${complete.join(', ')}` : 'no complete checkpoint'],
  ];
  if (m.error !== undefined) rows.push(['error', m.error]);
  return [`model version ${m.id}: ${m.state}`, '', table(rows.map(([k, v]) => [`  ${k}`, v!]))].join('\n');
}

/** `reel models show V`. */
export async function runModelsShow(version: string, flags: Record<string, unknown>, out: Output): Promise<number> {
  return withStores(flags, async (s) => {
    const m = await requireVersion(s, version);
    const checkpoints = s.blobs ? await listCheckpoints(s.blobs, version) : [];
    if (flags.json) out.json({ manifest: m, checkpoints });
    else out.line(renderModel(m, checkpoints));
    return ExitCode.Ok;
  });
}

/** `reel models export V --out DIR`: the embeddings of V's latest complete checkpoint. */
export async function runModelsExport(version: string, flags: Record<string, unknown> & { out: string; format: ExportFormat }, out: Output): Promise<number> {
  return withStores(flags, async (s) => {
    const m = await requireVersion(s, version);
    let cp;
    try {
      cp = s.blobs && (await latestCheckpoint(s.blobs, version));
    } catch (err) {
      if (err instanceof InvalidArgument) throw new CliError(`model version ${version}: ${err.message}`, ExitCode.Failed, 'DamagedCheckpoint');
      throw err;
    }
    if (!cp) {
      throw new CliError(`model version ${version} has no complete checkpoint yet (${m.state}, ${m.epochsDone} of ${m.epochs} epochs done): nothing to export`, ExitCode.Failed, 'NoCheckpoint');
    }
    const r = await exportCheckpoint(cp, m, flags.out, flags.format);
    if (flags.json) out.json(r);
    else {
      const counts = Object.entries(r.rows).map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`).join(', ');
      out.line(`exported ${version} (epoch ${r.epoch}: ${counts}) to ${r.dir}: ${r.files.join(', ')}`);
    }
    return ExitCode.Ok;
  });
}

/** `reel models activate V`. */
export async function runModelsActivate(version: string, flags: Record<string, unknown>, out: Output): Promise<number> {
  return withStores(flags, async (s) => {
    if (!s.registry) throw notFound(version, s.prefix);
    const client = await ClusterClient.connect(s.nc, { prefix: s.prefix, system: { askAttemptTimeoutMs: 0 } });
    let a: Activation;
    try {
      a = await activateVersion(s.registry, client, version);
    } catch (err) {
      if (err instanceof UnknownModelVersion) throw notFound(version, s.prefix);
      if (err instanceof InvalidArgument) throw new CliError(err.message, ExitCode.Failed, 'FailedPrecondition');
      throw err;
    } finally {
      await client.close();
    }
    if (flags.json) out.json({ active: version, previous: a.previous, manifest: a.manifest, nodes: a.nodes, missing_shards: a.missingShards });
    else {
      out.line(a.previous === version ? `${version} was already the active version` : `${version} is now the active version${a.previous ? ` (${a.previous} retired)` : ''}`);
      out.line(`serving it now: ${a.nodes.length > 0 ? a.nodes.join(', ') : 'no node answered'}${a.missingShards.length > 0 ? `; ${a.missingShards.length} shards unanswered (their nodes follow the registry within ${FOLLOW_ACTIVE_MS / 1000} s)` : ''}`);
    }
    return ExitCode.Ok;
  });
}
