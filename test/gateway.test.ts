import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Client as GrpcClient, credentials, loadPackageDefinition, makeClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../actors/training/index.js';
import { openModelRegistry } from '../cluster/index.js';
import { apiProtos, decodeStatusDetails, ERROR_DOMAIN } from '../gateway/index.js';
import { startTestCluster, type TestCluster } from './harness/cluster.js';
import { parsePrometheus } from './harness/prometheus.js';
import { runReel, startNodeProcess, type NodeProcess } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const TOKEN = 'test-admin-token';

type Unary = (req: unknown, md: Metadata, cb: (err: ServiceError | null, res: unknown) => void) => void;

/** Calls a unary method; resolves with the answer or the error (never rejects). */
function call(client: Client, method: string, req: unknown, md = new Metadata()): Promise<{ res?: Record<string, unknown>; err?: ServiceError }> {
  return new Promise((resolve) => ((client as unknown as Record<string, Unary>)[method]!).call(client, req, md, (err, res) => resolve(err ? { err } : { res: res as Record<string, unknown> })));
}

function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

describe('gateway - the reel.v1 gRPC API over a cluster (real nats-server, node and gateway processes, a grpc-js client)', () => {
  let c: TestCluster;
  let gw: NodeProcess;
  let address: string;
  let metricsPort: number;
  const clients: Client[] = [];

  function client<T extends Client>(ctor: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => T): T {
    const cl = new ctor(address, credentials.createInsecure());
    clients.push(cl);
    return cl;
  }

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 1, shardCount: 16, label: 'gateway', reelActors: true });
    gw = startNodeProcess(['gateway', '--nats', c.nats.url, '--prefix', c.prefix, '--port', '0', '--metrics-port', '0'], { env: { REEL_ADMIN_TOKEN: TOKEN } });
    const ready = await gw.ready;
    address = `127.0.0.1:${ready.port as number}`;
    metricsPort = ready.metricsPort as number;
  });
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await gw?.stop();
    await c?.close();
  });

  const api = () => apiProtos().api.reel.v1;
  const Health = makeClientConstructor(healthService as never, 'grpc.health.v1.Health');

  async function health(serviceName: string): Promise<string> {
    const r = await call(client(Health), 'Check', { service: serviceName });
    if (r.err) throw r.err;
    return r.res!.status as string;
  }

  it('gateway - health: SERVING for the gateway, catalog and admin while the cluster is reachable; recommendations once a fallback list exists', async () => {
    await waitFor('the gateway reports SERVING', async () => (await health('')) === 'SERVING', { timeoutMs: 10_000, intervalMs: 50 });
    expect(await health('reel.v1.CatalogService')).toBe('SERVING');
    expect(await health('reel.v1.AdminService')).toBe('SERVING');
    // The node's popular list (empty: no titles yet) is the fallback: recommendations can be answered.
    await waitFor('recommendations SERVING', async () => (await health('reel.v1.RecommendationService')) === 'SERVING', { timeoutMs: 10_000, intervalMs: 50 });
    const unknown = await call(client(Health), 'Check', { service: 'reel.v1.NoSuchService' });
    expect(unknown.err?.code).toBe(status.NOT_FOUND);
  });

  it('gateway - the service config README gives clients is one grpc-js takes, and calls go through with it', async () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
    const block = /A gRPC service config[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const config = JSON.parse(block![1]!) as { methodConfig: Array<{ name: Array<{ service: string }> }> };
    expect(config.methodConfig.flatMap((m) => m.name.map((n) => n.service)).sort()).toEqual(['reel.v1.AdminService', 'reel.v1.CatalogService', 'reel.v1.RecommendationService']);
    const admin = new (api().AdminService)(address, credentials.createInsecure(), { 'grpc.service_config': JSON.stringify(config) });
    clients.push(admin);
    const r = await call(admin, 'GetClusterStatus', {}, bearer(TOKEN));
    expect(r.err).toBeUndefined();
  });

  it('gateway - reflection lists the three reel.v1 services (v1 and v1alpha)', async () => {
    const reflectionDir = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build', 'proto');
    for (const version of ['v1', 'v1alpha']) {
      const def = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionDir] });
      const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client }> } };
      const cl = client(pkg.grpc.reflection[version]!.ServerReflection);
      const names = await new Promise<string[]>((resolve, reject) => {
        const stream = (cl as unknown as { serverReflectionInfo(): NodeJS.ReadWriteStream & { write(m: unknown): void } }).serverReflectionInfo();
        stream.on('data', (m: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
          resolve((m.listServicesResponse?.service ?? []).map((s) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ listServices: '' });
      });
      expect(names).toEqual(expect.arrayContaining(['reel.v1.RecommendationService', 'reel.v1.CatalogService', 'reel.v1.AdminService']));
    }
  });

  it('gateway - AdminService: no token is UNAUTHENTICATED, a wrong one PERMISSION_DENIED (ErrorInfo ADMIN_AUTH_REQUIRED); the right one gets the cluster status', async () => {
    const admin = client(api().AdminService);
    const none = await call(admin, 'GetClusterStatus', {});
    expect(none.err?.code).toBe(status.UNAUTHENTICATED);
    expect(decodeStatusDetails(none.err!.metadata)).toMatchObject({ code: status.UNAUTHENTICATED, errorInfo: { reason: 'ADMIN_AUTH_REQUIRED', domain: ERROR_DOMAIN } });
    const wrong = await call(admin, 'GetClusterStatus', {}, bearer('not-the-token'));
    expect(wrong.err?.code).toBe(status.PERMISSION_DENIED);
    expect(decodeStatusDetails(wrong.err!.metadata)?.errorInfo?.reason).toBe('ADMIN_AUTH_REQUIRED');
    // Checked before anything else: a method not served yet still refuses a caller without the token.
    expect((await call(admin, 'ListTrainingJobs', {})).err?.code).toBe(status.UNAUTHENTICATED);
    // A streaming method too.
    const watch = (md: Metadata) =>
      new Promise<ServiceError>((resolve) => {
        const stream = (admin as unknown as { watchTrainingJob(req: unknown, md: Metadata): NodeJS.ReadableStream }).watchTrainingJob({ jobId: 'j1' }, md);
        stream.on('data', () => undefined);
        stream.on('error', (e: ServiceError) => resolve(e));
      });
    expect((await watch(new Metadata())).code).toBe(status.UNAUTHENTICATED);
    const unknownJob = await watch(bearer(TOKEN));
    expect(decodeStatusDetails(unknownJob.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'TRAINING_JOB_NOT_FOUND' } });

    const ok = await call(admin, 'GetClusterStatus', {}, bearer(TOKEN));
    expect(ok.err).toBeUndefined();
    const res = ok.res as { nodes: Array<{ nodeId: string; state: string; shardCount: number; roles: string[] }>; shards: Array<{ shardId: number; ownerNodeId: string; state: string; epoch: number }> };
    expect(res.nodes.map((n) => [n.nodeId, n.state, n.shardCount])).toEqual([['n1', 'NODE_STATE_ACTIVE', 16]]);
    expect(res.nodes[0]!.roles).toEqual(expect.arrayContaining(['NODE_ROLE_SHARD_HOST']));
    expect(res.shards).toHaveLength(16);
    for (const s of res.shards) expect(s).toMatchObject({ ownerNodeId: 'n1', state: 'SHARD_STATE_ACTIVE' });
    expect(res.shards.every((s) => s.epoch > 0)).toBe(true);
    expect(ok.res!.nats).toMatchObject({ connected: true });
  });

  it('gateway - an unknown method path answers UNIMPLEMENTED (grpc-js answers it: the gateway never sees it, nor counts it); a served method\'s refusals carry ErrorInfo, never INTERNAL; metrics count every call by method and code', async () => {
    // Every reel.v1 method is served: the path of one that does not exist is what is left unimplemented.
    const raw = client(GrpcClient);
    const unknown = await new Promise<ServiceError>((resolve) =>
      raw.makeUnaryRequest('/reel.v1.CatalogService/NoSuchMethod', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), (err) => resolve(err!)),
    );
    expect(unknown.code).toBe(status.UNIMPLEMENTED);

    const cat = client(api().CatalogService);
    const refusals: Array<[unknown, number, string, string | undefined]> = [
      [{ userId: '' }, status.INVALID_ARGUMENT, 'MISSING_FIELD', 'user_id'],
      [{ userId: 'u1', pageSize: -1 }, status.INVALID_ARGUMENT, 'INVALID_PAGE_SIZE', 'page_size'],
      [{ userId: 'u1', types: ['INTERACTION_TYPE_PLAY', 99] }, status.INVALID_ARGUMENT, 'INVALID_ENUM', 'types[1]'],
      [{ userId: 'u1', pageToken: 'not-a-token' }, status.INVALID_ARGUMENT, 'PAGE_TOKEN_INVALID', 'page_token'],
      [{ userId: 'nobody-knows-me' }, status.NOT_FOUND, 'USER_NOT_FOUND', undefined],
    ];
    for (const [req, code, reason, field] of refusals) {
      const r = await call(cat, 'ListUserInteractions', req);
      expect(r.err?.code, JSON.stringify(req)).toBe(code);
      const d = decodeStatusDetails(r.err!.metadata)!;
      expect(d).toMatchObject({ code, errorInfo: { reason, domain: ERROR_DOMAIN } });
      if (field !== undefined) expect(d.fieldViolations?.map((v) => v.field)).toEqual([field]);
    }
    const del = await call(cat, 'DeleteUserInteractions', { userId: '', titleIds: ['t1', ''] });
    expect(decodeStatusDetails(del.err!.metadata)?.fieldViolations?.map((v) => v.field)).toEqual(['user_id', 'title_ids[1]']);
    // Nothing to delete for a user nobody knows: 0, not an error (API.md §4).
    expect((await call(cat, 'DeleteUserInteractions', { userId: 'nobody-knows-me' })).res).toEqual({ deletedCount: 0 });

    const scrape = parsePrometheus(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.CatalogService/NoSuchMethod' })).toBe(0);
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.CatalogService/ListUserInteractions', code: 'INVALID_ARGUMENT' })).toBe(4);
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.CatalogService/ListUserInteractions', code: 'NOT_FOUND' })).toBe(1);
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.CatalogService/DeleteUserInteractions', code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.CatalogService/DeleteUserInteractions', code: 'OK' })).toBe(1);
    expect(scrape.sum('reel_grpc_requests_total', { code: 'INTERNAL' })).toBe(0);
    // One from the service-config test, one from the admin test (the tests run in order, on one gateway).
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.AdminService/GetClusterStatus', code: 'OK' })).toBe(2);
    expect(scrape.sum('reel_grpc_requests_total', { method: '/reel.v1.AdminService/GetClusterStatus', code: 'UNAUTHENTICATED' })).toBe(1);
    expect(scrape.sum('reel_grpc_request_duration_seconds_count', { method: '/reel.v1.CatalogService/ListUserInteractions' })).toBe(5);
    expect(scrape.sum('reel_grpc_in_flight')).toBe(0);
  });

  it('gateway - model versions: listed newest first in pages, got, activated cluster-wide; unknown NOT_FOUND, TRAINING FAILED_PRECONDITION, validate_only changes nothing', async () => {
    const admin = client(api().AdminService);
    const auth = bearer(TOKEN);
    const registry = await openModelRegistry(c.nc, c.prefix);
    const m = (id: string, createdAtMs: number, state: ModelManifest['state']): ModelManifest => ({
      id, model: 'mf', factors: 8, hyperparameters: { lr: 0.01 }, seed: 1, dataFingerprint: 'f', metrics: { validation_rmse: 0.93 }, state, createdAtMs, updatedAtMs: createdAtMs, epochsDone: 3, epochs: 3,
    });
    await registry.create(m('gw-a', 1_700_000_000_000, 'READY'));
    await registry.create(m('gw-b', 1_700_000_001_000, 'READY'));
    await registry.create(m('gw-t', 1_700_000_002_000, 'TRAINING'));

    const first = await call(admin, 'ListModelVersions', { pageSize: 2 }, auth);
    const p1 = first.res as { modelVersions: Array<{ modelVersion: string; state: string; modelType: string; dimensions: number; metrics: Record<string, number> }>; nextPageToken: string };
    expect(p1.modelVersions.map((v) => v.modelVersion)).toEqual(['gw-t', 'gw-b']);
    expect(p1.modelVersions[1]).toMatchObject({ state: 'MODEL_VERSION_STATE_READY', modelType: 'MODEL_TYPE_MF_SGD', dimensions: 8, metrics: { validation_rmse: 0.93 } });
    const second = await call(admin, 'ListModelVersions', { pageSize: 2, pageToken: p1.nextPageToken }, auth);
    expect((second.res as typeof p1).modelVersions.map((v) => v.modelVersion)).toEqual(['gw-a']);
    expect((second.res as typeof p1).nextPageToken).toBe('');
    const badToken = await call(admin, 'ListModelVersions', { pageToken: 'garbage' }, auth);
    expect(decodeStatusDetails(badToken.err!.metadata)).toMatchObject({ code: status.INVALID_ARGUMENT, errorInfo: { reason: 'PAGE_TOKEN_INVALID' }, fieldViolations: [{ field: 'page_token' }] });

    const missing = await call(admin, 'GetModelVersion', { modelVersion: 'gw-nope' }, auth);
    expect(decodeStatusDetails(missing.err!.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'MODEL_VERSION_NOT_FOUND', metadata: { model_version: 'gw-nope' } } });
    const empty = await call(admin, 'GetModelVersion', {}, auth);
    expect(decodeStatusDetails(empty.err!.metadata)).toMatchObject({ code: status.INVALID_ARGUMENT, errorInfo: { reason: 'MISSING_FIELD' }, fieldViolations: [{ field: 'model_version' }] });

    const training = await call(admin, 'ActivateModelVersion', { modelVersion: 'gw-t' }, auth);
    expect(decodeStatusDetails(training.err!.metadata)).toMatchObject({ code: status.FAILED_PRECONDITION, errorInfo: { reason: 'MODEL_VERSION_NOT_READY' } });
    const dry = await call(admin, 'ActivateModelVersion', { modelVersion: 'gw-a', validateOnly: true }, auth);
    expect((dry.res as { modelVersion: { state: string } }).modelVersion.state).toBe('MODEL_VERSION_STATE_READY');
    expect(await registry.active()).toBeUndefined();

    const done = await call(admin, 'ActivateModelVersion', { modelVersion: 'gw-a' }, auth);
    expect(done.err).toBeUndefined();
    expect((done.res as { modelVersion: { state: string } }).modelVersion.state).toBe('MODEL_VERSION_STATE_ACTIVE');
    expect(await registry.active()).toBe('gw-a');
    const got = await call(admin, 'GetModelVersion', { modelVersion: 'gw-a' }, auth);
    expect((got.res as { modelVersion: { state: string } }).modelVersion.state).toBe('MODEL_VERSION_STATE_ACTIVE');
  });

  it('gateway - shards: draining the only node is FAILED_PRECONDITION (LAST_NODE), an unknown node NOT_FOUND; a balanced cluster has no rebalance to do', async () => {
    const admin = client(api().AdminService);
    const auth = bearer(TOKEN);
    const last = await call(admin, 'DrainNode', { nodeId: 'n1' }, auth);
    expect(decodeStatusDetails(last.err!.metadata)).toMatchObject({ code: status.FAILED_PRECONDITION, errorInfo: { reason: 'LAST_NODE', metadata: { node_id: 'n1' } } });
    const unknown = await call(admin, 'DrainNode', { nodeId: 'n9' }, auth);
    expect(decodeStatusDetails(unknown.err!.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'NODE_NOT_FOUND' } });
    const empty = await call(admin, 'DrainNode', {}, auth);
    expect(decodeStatusDetails(empty.err!.metadata)).toMatchObject({ code: status.INVALID_ARGUMENT, fieldViolations: [{ field: 'node_id' }] });
    // Nothing was drained: n1 still serves every shard.
    expect(c.client.owners().every((o) => o === 'n1')).toBe(true);
    const plan = await call(admin, 'RebalanceShards', { validateOnly: true }, auth);
    expect(plan.res).toEqual({ moves: [] });
  });

  it('gateway - DrainNode of one of two nodes answers the plan (its shards, to the other) and the node hands them off and leaves', async () => {
    const admin = client(api().AdminService);
    const n2 = await c.addNode('n2');
    await c.waitBalanced(['n1', 'n2']);
    const held = c.client.owners().flatMap((o, s) => (o === 'n2' ? [s] : []));
    expect(held.length).toBeGreaterThan(0);
    const r = await call(admin, 'DrainNode', { nodeId: 'n2' }, bearer(TOKEN));
    expect(r.err).toBeUndefined();
    const res = r.res as { state: string; moves: Array<{ shardId: number; fromNodeId: string; toNodeId: string }> };
    expect(res.state).toBe('NODE_STATE_DRAINING');
    expect(res.moves.map((m) => m.shardId).sort((a, b) => a - b)).toEqual(held);
    expect(res.moves.every((m) => m.fromNodeId === 'n2' && m.toNodeId === 'n1')).toBe(true);
    expect(await n2.exited).toBe(0);
    await waitFor('n1 owns every shard again', async () => (await c.client.view.refresh(), c.client.owners().every((o) => o === 'n1')), { timeoutMs: 20_000, intervalMs: 100 });
  });

  it('gateway - training jobs: started by request id (a retry finds the same job), watched to SUCCEEDED, got and listed; bad specs named by their proto paths', async () => {
    const admin = client(api().AdminService);
    const auth = bearer(TOKEN);
    // A small ratings file through `reel load`, as an operator would.
    const dir = mkdtempSync(join(tmpdir(), 'reel-gw-'));
    try {
      const lines: string[] = [];
      for (let u = 1; u <= 60; u++) for (let k = 0; k < 25; k++) lines.push(`${u}\t${((u * 7 + k * 13) % 40) + 1}\t${1 + ((u + k) % 5)}\t${880_000_000 + u * 100 + k}`);
      writeFileSync(join(dir, 'ratings.tsv'), `${lines.join('\n')}\n`);
      const loaded = await runReel(['load', '--data', join(dir, 'ratings.tsv'), '--nats', c.nats.url, '--prefix', c.prefix], { timeoutMs: 60_000 });
      expect(loaded.code, loaded.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const registry = async () => (await (await openModelRegistry(c.nc, c.prefix)).get('gw-long'))!;
    const bad = await call(admin, 'StartTrainingJob', { spec: { modelType: 'MODEL_TYPE_MF_ALS', hyperparameters: { bogus: 1, factors: 0 } } }, auth);
    const d = decodeStatusDetails(bad.err!.metadata);
    expect(d?.code).toBe(status.INVALID_ARGUMENT);
    expect(d?.fieldViolations?.map((v) => v.field)).toEqual(['spec.model_type', 'spec.hyperparameters["bogus"]']);
    const zero = await call(admin, 'StartTrainingJob', { spec: { modelType: 'MODEL_TYPE_MF_SGD', hyperparameters: { factors: 0 } } }, auth);
    expect(decodeStatusDetails(zero.err!.metadata)?.fieldViolations?.map((v) => v.field)).toEqual(['spec.hyperparameters["factors"]']);

    const req = { spec: { modelType: 'MODEL_TYPE_MF_SGD', epochs: 2, hyperparameters: { factors: 4, validation_fraction: 0.1 } }, requestId: 'gw-job-1' };
    const started = await call(admin, 'StartTrainingJob', req, auth);
    expect(started.err).toBeUndefined();
    const job = (started.res as { trainingJob: { jobId: string; state: string } }).trainingJob;
    expect(job.jobId).toBe('gw-job-1');
    const again = await call(admin, 'StartTrainingJob', req, auth);
    expect((again.res as { trainingJob: { jobId: string } }).trainingJob.jobId).toBe('gw-job-1');

    const seen = await new Promise<Array<{ state: string; progress: { epoch: number; totalEpochs: number } }>>((resolve, reject) => {
      const out: Array<{ state: string; progress: { epoch: number; totalEpochs: number } }> = [];
      const stream = (admin as unknown as { watchTrainingJob(req: unknown, md: Metadata): NodeJS.ReadableStream }).watchTrainingJob({ jobId: 'gw-job-1' }, auth);
      stream.on('data', (m: { trainingJob: (typeof out)[number] }) => out.push(m.trainingJob));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
    });
    expect(seen.at(-1)).toMatchObject({ state: 'TRAINING_JOB_STATE_SUCCEEDED', progress: { epoch: 2, totalEpochs: 2 } });
    const got = (await call(admin, 'GetTrainingJob', { jobId: 'gw-job-1' }, auth)).res as { trainingJob: { state: string; modelVersion: string; metrics: Record<string, number>; spec: { modelType: string; epochs: number; hyperparameters: Record<string, number> } } };
    expect(got.trainingJob).toMatchObject({ state: 'TRAINING_JOB_STATE_SUCCEEDED', modelVersion: 'gw-job-1', spec: { modelType: 'MODEL_TYPE_MF_SGD', epochs: 2, hyperparameters: { factors: 4 } } });
    expect(got.trainingJob.metrics.validation_rmse).toBeGreaterThan(0);
    const listed = (await call(admin, 'ListTrainingJobs', { state: 'TRAINING_JOB_STATE_SUCCEEDED' }, auth)).res as { trainingJobs: Array<{ jobId: string }> };
    expect(listed.trainingJobs.map((j) => j.jobId)).toContain('gw-job-1');
    const running = (await call(admin, 'ListTrainingJobs', { state: 'TRAINING_JOB_STATE_RUNNING' }, auth)).res as { trainingJobs: Array<{ jobId: string }> };
    expect(running.trainingJobs.map((j) => j.jobId)).toEqual(['gw-t']);
    // Cancelled while it runs: CANCELLED (its version FAILED, never READY); a second cancel finds it ended.
    const long = await call(admin, 'StartTrainingJob', { spec: { modelType: 'MODEL_TYPE_MF_SGD', epochs: 100_000, hyperparameters: { factors: 4 } }, requestId: 'gw-long' }, auth);
    expect((long.res as { trainingJob: { state: string } }).trainingJob.state).toBe('TRAINING_JOB_STATE_RUNNING');
    const cancelled = await call(admin, 'CancelTrainingJob', { jobId: 'gw-long' }, auth);
    expect((cancelled.res as { trainingJob: { state: string } }).trainingJob.state).toBe('TRAINING_JOB_STATE_CANCELLED');
    expect((await registry()).state).toBe('FAILED');
    const twice = await call(admin, 'CancelTrainingJob', { jobId: 'gw-long' }, auth);
    expect(decodeStatusDetails(twice.err!.metadata)).toMatchObject({ code: status.FAILED_PRECONDITION, errorInfo: { reason: 'JOB_ALREADY_FINISHED' } });
    const done = await call(admin, 'CancelTrainingJob', { jobId: 'gw-job-1' }, auth);
    expect(decodeStatusDetails(done.err!.metadata)?.errorInfo?.reason).toBe('JOB_ALREADY_FINISHED');
    const unknown = await call(admin, 'GetTrainingJob', { jobId: 'nope' }, auth);
    expect(decodeStatusDetails(unknown.err!.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'TRAINING_JOB_NOT_FOUND' } });
  });

  it('gateway - catalog reads from the actors: a user and a title as loaded; unknown ones NOT_FOUND, an empty id INVALID_ARGUMENT', async () => {
    const catalog = client(api().CatalogService);
    // The ratings the training test loaded: user 1 rated 25 titles.
    const user = await call(catalog, 'GetUser', { userId: '1' });
    expect(user.err).toBeUndefined();
    expect((user.res as { user: { userId: string; interactionCount: number; updateTime: { seconds: string } } }).user).toMatchObject({ userId: '1', interactionCount: 25, updateTime: { seconds: String(880_000_124) } });
    const title = await call(catalog, 'GetTitle', { titleId: '8' });
    expect((title.res as { title: { titleId: string; interactionCount: number } }).title).toMatchObject({ titleId: '8' });
    expect((title.res as { title: { interactionCount: number } }).title.interactionCount).toBeGreaterThan(0);
    const nobody = await call(catalog, 'GetUser', { userId: 'nobody' });
    expect(decodeStatusDetails(nobody.err!.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'USER_NOT_FOUND', metadata: { user_id: 'nobody' } } });
    const nothing = await call(catalog, 'GetTitle', { titleId: 'no-such-title' });
    expect(decodeStatusDetails(nothing.err!.metadata)).toMatchObject({ code: status.NOT_FOUND, errorInfo: { reason: 'TITLE_NOT_FOUND' } });
    const empty = await call(catalog, 'GetTitle', {});
    expect(decodeStatusDetails(empty.err!.metadata)).toMatchObject({ code: status.INVALID_ARGUMENT, fieldViolations: [{ field: 'title_id' }] });
  });

  it('gateway - BatchUpsertTitles: a bad title refuses the whole batch (nothing written, every violation named); validate_only writes nothing; a good batch is stored and read back', async () => {
    const catalog = client(api().CatalogService);
    const heat = { titleId: 'up-heat', displayName: 'Heat (1995)', releaseYear: 1995, genres: ['Action', 'Crime'], labels: { imdbId: '0113277' }, publishTime: { seconds: '816998400', nanos: 0 } };
    const bad = await call(catalog, 'BatchUpsertTitles', { titles: [heat, { titleId: '', releaseYear: 12_000, genres: ['Drama', ''] }, { ...heat, displayName: 'again' }] });
    const d = decodeStatusDetails(bad.err!.metadata);
    expect(d?.code).toBe(status.INVALID_ARGUMENT);
    expect(d?.fieldViolations?.map((v) => v.field)).toEqual(['titles[1].title_id', 'titles[2].title_id', 'titles[1].release_year', 'titles[1].genres[1]']);
    expect(decodeStatusDetails((await call(catalog, 'GetTitle', { titleId: 'up-heat' })).err!.metadata)?.errorInfo?.reason).toBe('TITLE_NOT_FOUND');
    const tooMany = await call(catalog, 'BatchUpsertTitles', { titles: Array.from({ length: 1001 }, (_, i) => ({ titleId: `t${i}` })) });
    expect(decodeStatusDetails(tooMany.err!.metadata)).toMatchObject({ errorInfo: { reason: 'BATCH_TOO_LARGE' }, fieldViolations: [{ field: 'titles' }] });

    const dry = await call(catalog, 'BatchUpsertTitles', { titles: [heat], validateOnly: true });
    expect(dry.err).toBeUndefined();
    expect(decodeStatusDetails((await call(catalog, 'GetTitle', { titleId: 'up-heat' })).err!.metadata)?.errorInfo?.reason).toBe('TITLE_NOT_FOUND');

    const ok = await call(catalog, 'BatchUpsertTitles', { titles: [heat, { titleId: 'up-hidden', displayName: 'Not Now', hidden: true }] });
    expect(ok.err).toBeUndefined();
    const stored = (ok.res as { titles: Array<Record<string, unknown>> }).titles;
    expect(stored.map((t) => t.titleId)).toEqual(['up-heat', 'up-hidden']);
    const got = (await call(catalog, 'GetTitle', { titleId: 'up-heat' })).res as { title: Record<string, unknown> };
    expect(got.title).toMatchObject({ displayName: 'Heat (1995)', releaseYear: 1995, genres: ['Action', 'Crime'], labels: { imdbId: '0113277' }, hidden: false, publishTime: { seconds: '816998400' } });
    expect(((await call(catalog, 'GetTitle', { titleId: 'up-hidden' })).res as { title: { hidden: boolean } }).title.hidden).toBe(true);
  });

  it('gateway - BatchUpsertUsers: a new user exists once upserted (labels, preferred genres); a bad batch writes nothing', async () => {
    const catalog = client(api().CatalogService);
    const bad = await call(catalog, 'BatchUpsertUsers', { users: [{ userId: 'up-u1', preferredGenres: ['Drama'] }, { userId: 'up-u2', labels: { '': 'x' } }] });
    expect(decodeStatusDetails(bad.err!.metadata)?.fieldViolations?.map((v) => v.field)).toEqual(['users[1].labels[""]']);
    expect(decodeStatusDetails((await call(catalog, 'GetUser', { userId: 'up-u1' })).err!.metadata)?.errorInfo?.reason).toBe('USER_NOT_FOUND');
    const ok = await call(catalog, 'BatchUpsertUsers', { users: [{ userId: 'up-u1', labels: { plan: 'premium' }, preferredGenres: ['Drama', 'Film-Noir'] }] });
    expect(ok.err).toBeUndefined();
    const got = (await call(catalog, 'GetUser', { userId: 'up-u1' })).res as { user: Record<string, unknown> };
    expect(got.user).toMatchObject({ userId: 'up-u1', labels: { plan: 'premium' }, preferredGenres: ['Drama', 'Film-Noir'], interactionCount: 0 });
  });

  it('gateway - the cluster out of reach: health goes NOT_SERVING, and SERVING again once NATS is back', async () => {
    await c.nats.kill();
    await waitFor('health NOT_SERVING with NATS down', async () => (await health('')) === 'NOT_SERVING', { timeoutMs: 15_000, intervalMs: 100 });
    expect(await health('reel.v1.CatalogService')).toBe('NOT_SERVING');
    expect(await health('reel.v1.RecommendationService')).toBe('NOT_SERVING');
    // A call the cluster cannot answer is UNAVAILABLE (retryable), and its log line carries the caller's trace id.
    const md = bearer(TOKEN);
    md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const down = await call(client(api().AdminService), 'GetClusterStatus', {}, md);
    expect(down.err?.code).toBe(status.UNAVAILABLE);
    expect(decodeStatusDetails(down.err!.metadata)?.errorInfo?.reason).toBe('CLUSTER_UNAVAILABLE');
    const logged = await gw.waitEvent((e) => e.msg === 'call failed');
    expect(logged).toMatchObject({ method: '/reel.v1.AdminService/GetClusterStatus', code: 'UNAVAILABLE', traceId: '0af7651916cd43dd8448eb211c80319c' });
    await c.nats.restart();
    await waitFor('health SERVING with NATS back', async () => (await health('')) === 'SERVING', { timeoutMs: 30_000, intervalMs: 100 });
  });
});
