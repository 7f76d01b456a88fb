import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { credentials as grpcCredentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSecureAssets, type SecureAssets } from '../cli/nats-certs.js';
import { authorizationBlock, rolePermissions, ROLES, tlsBlock, type Role } from '../cli/nats-security.js';
import { readNkeySeed } from '../cli/settings.js';
import { apiProtos } from '../gateway/index.js';
import { FAST_NODE_FLAGS } from './harness/cluster.js';
import { startNatsServer, uniquePrefix, type NatsServerHandle } from './harness/nats-server.js';
import { runReel, startNodeProcess, type NodeProcess } from './harness/processes.js';
import { waitFor } from './harness/wait.js';

const execFileP = promisify(execFile);

/** A secured nats-server for `prefix`: every role's user, TLS required and client certificates verified; its log in a file. */
async function securedServer(assets: SecureAssets, prefix: string, logFile: string): Promise<NatsServerHandle> {
  const config = [
    authorizationBlock(assets.users, prefix),
    tlsBlock({ cert: assets.server.cert, key: assets.server.key, ca: assets.ca, verify: true, timeoutS: 2 }),
    `log_file: ${JSON.stringify(logFile)}`,
    '',
  ].join('\n');
  return startNatsServer({ config });
}

function userOf(assets: SecureAssets, role: Role): { user: string; pass: string } {
  const u = assets.users.find((x) => x.role === role)!;
  return { user: u.user, pass: u.password };
}

/** A nats.js connection as `role`: its user and password, its client certificate, the local CA. */
function connectAs(assets: SecureAssets, url: string, role: Role): Promise<NatsConnection> {
  const files = assets.roles[role];
  return connect({ servers: url, ...userOf(assets, role), tls: { caFile: assets.ca, certFile: files.cert, keyFile: files.key }, maxReconnectAttempts: 0, noAsyncTraces: true });
}

/** How a hand-made connection ended: accepted once the server answers PING with PONG; else what refused it. */
interface Probe {
  accepted: boolean;
  detail: string;
}

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Speaks the NATS protocol by hand: reads INFO, upgrades to TLS when `tls` is given (or talks
 * plaintext), sends CONNECT with the user and PING. A client certificate the server refuses is
 * a TLS alert here (nats.js would only time out), and a plaintext client is one no library lets
 * us be when the server says TLS is required.
 */
function probe(port: number, auth: { user: string; pass: string }, tls?: { ca: string; cert?: string; key?: string }): Promise<Probe> {
  return new Promise((resolve) => {
    const raw = tcpConnect(port, '127.0.0.1');
    let sock: Socket = raw;
    let settled = false;
    const done = (p: Probe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      raw.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done({ accepted: false, detail: `no answer in ${PROBE_TIMEOUT_MS} ms` }), PROBE_TIMEOUT_MS);
    const hello = `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, ...auth })}\r\nPING\r\n`;
    const listen = (s: Socket) => {
      s.on('data', (d: Buffer) => done({ accepted: d.toString().includes('PONG'), detail: d.toString().trim() }));
      s.on('error', (e: NodeJS.ErrnoException) => done({ accepted: false, detail: `${e.code ?? ''} ${e.message}`.trim() }));
      s.on('close', () => done({ accepted: false, detail: 'closed by the server' }));
    };
    raw.on('error', (e) => done({ accepted: false, detail: `tcp: ${e.message}` }));
    raw.once('data', (info: Buffer) => {
      if (!info.toString().startsWith('INFO ')) return done({ accepted: false, detail: `no INFO: ${info.toString()}` });
      if (tls === undefined) {
        listen(raw);
        raw.write(hello);
        return;
      }
      const t = tlsConnect({ socket: raw, host: '127.0.0.1', ca: readFileSync(tls.ca), ...(tls.cert ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key!) } : {}) });
      sock = t;
      listen(t);
      t.once('secureConnect', () => t.write(hello));
    });
  });
}

/** `YYYYMMDDHHMMSSZ`, as `openssl ca -startdate/-enddate` take it. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * Two client certificates for one new key, both signed by the assets' CA, one valid from
 * `start` to `end` and one valid now: everything but the dates the same, so a refusal of the
 * first is a refusal of its dates. (`openssl ca` sets both dates; `x509 -req` in OpenSSL 3.0 only
 * counts days from now.)
 */
async function certsForOneKey(assets: SecureAssets, dir: string, start: number, end: number): Promise<{ key: string; dated: string; current: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const run = (args: string[]) => execFileP('openssl', args, { cwd: dir });
  await run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'key.pem']);
  await run(['req', '-new', '-key', 'key.pem', '-subj', '/CN=reel-node', '-out', 'req.csr']);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      'database = index.txt',
      'serial = serial',
      'new_certs_dir = .',
      `certificate = ${assets.ca}`,
      `private_key = ${assets.caKey}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '[client_ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const sign = (out: string, from: number, to: number) =>
    run(['ca', '-batch', '-config', 'ca.cnf', '-extensions', 'client_ext', '-notext', '-startdate', asn1Time(from), '-enddate', asn1Time(to), '-in', 'req.csr', '-out', out]);
  await sign('dated.pem', start, end);
  await sign('current.pem', Date.now() - 86_400_000, Date.now() + 30 * 86_400_000);
  return { key: join(dir, 'key.pem'), dated: join(dir, 'dated.pem'), current: join(dir, 'current.pem') };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The server's log lines from `from` (a length read before) on. */
function logSince(logFile: string, from: number): string {
  return readFileSync(logFile, 'utf8').slice(from);
}

describe('nats permissions - roles, credentials and TLS enforced by a real nats-server', () => {
  const root = mkdtempSync(join(tmpdir(), 'reel-nats-perm-'));
  let assets: SecureAssets;
  let nats: NatsServerHandle;
  const prefix = uniquePrefix('perm');
  const logFile = join(root, 'nats-server.log');
  const open: NatsConnection[] = [];

  beforeAll(async () => {
    assets = await makeSecureAssets(join(root, 'secure'));
    nats = await securedServer(assets, prefix, logFile);
  });
  afterAll(async () => {
    for (const nc of open) await nc.close();
    await nats?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function as(role: Role): Promise<NatsConnection> {
    const nc = await connectAs(assets, nats.url, role);
    open.push(nc);
    return nc;
  }

  it('nats permissions - secure assets: a 0700 directory, keys and credentials 0600, the same users and files when made again', async () => {
    const dir = join(root, 'secure');
    const mode = (f: string) => (statSync(f).mode & 0o777).toString(8);
    expect(mode(dir)).toBe('700');
    for (const f of [assets.caKey, assets.server.key, ...ROLES.flatMap((r) => [assets.roles[r].key, assets.roles[r].credentials])]) expect(mode(f), f).toBe('600');
    for (const r of ROLES) expect(JSON.parse(readFileSync(assets.roles[r].credentials, 'utf8'))).toEqual({ user: userOf(assets, r).user, password: userOf(assets, r).pass });
    const serverCert = readFileSync(assets.server.cert, 'utf8');
    const again = await makeSecureAssets(dir);
    expect(again.users).toEqual(assets.users);
    expect(readFileSync(again.server.cert, 'utf8')).toBe(serverCert);
    // Another host (in a directory of its own: this file's server uses the first): the server
    // certificate is issued again for it; the CA, users and client certificates stay.
    const first = await makeSecureAssets(join(root, 'hosts'));
    const nodeCert = readFileSync(first.roles.node.cert, 'utf8');
    const moved = await makeSecureAssets(join(root, 'hosts'), { hosts: ['127.0.0.1', 'reel-nats.internal'] });
    const issued = new X509Certificate(readFileSync(moved.server.cert));
    expect(issued.subjectAltName).toBe('IP Address:127.0.0.1, DNS:reel-nats.internal');
    expect(issued.verify(new X509Certificate(readFileSync(first.ca)).publicKey)).toBe(true);
    expect(moved.users).toEqual(first.users);
    expect(readFileSync(moved.roles.node.cert, 'utf8')).toBe(nodeCert);
    // Only gateways and operators are denied the owner-only keys; nodes own them.
    for (const r of ['gateway', 'operator'] as const) {
      expect(rolePermissions(prefix)[r].publish.deny).toEqual(expect.arrayContaining([`$KV.${prefix}_cluster.shards.>`, `$KV.${prefix}_cluster.members.>`]));
    }
  });

  it('nats permissions - a gateway or operator user cannot write ownership or membership entries of the cluster bucket (the server refuses, the entry stays); a node user can', async () => {
    const bucket = `${prefix}_cluster`;
    const node = await as('node');
    const kvNode = await new Kvm(node).create(bucket, { history: 1 });
    const owner = JSON.stringify({ owner: 'n1', epoch: 3 });
    const member = JSON.stringify({ id: 'x', roles: ['node'] });
    const shardRev = await kvNode.put('shards.0', owner);
    const memberRev = await kvNode.put('members.x', member);
    for (const role of ['gateway', 'operator'] as const) {
      const nc = await as(role);
      const kv = await new Kvm(nc).open(bucket);
      // It reads the cluster (routing needs the owners) …
      expect((await kv.get('shards.0'))?.string()).toBe(owner);
      // … and may write what its admin calls write: a manual placement.
      await kv.put('overrides.0', JSON.stringify('n1'));
      for (const key of ['shards.0', 'members.x']) {
        const refused = new RegExp(`Permissions Violation for Publish to "\\$KV\\.${escapeRe(bucket)}\\.${escapeRe(key)}"`);
        await expect(kv.put(key, JSON.stringify({ owner: role, epoch: 99 })), `${role} put ${key}`).rejects.toThrow(refused);
        await expect(kv.delete(key), `${role} delete ${key}`).rejects.toThrow(refused);
        await expect(kv.purge(key), `${role} purge ${key}`).rejects.toThrow(refused);
      }
      // Nor around the KV API, through the stream's: purge by subject, delete a revision, delete the bucket.
      const jsm = await jetstreamManager(nc);
      await expect(jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.shards.0` })).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.PURGE\./);
      await expect(jsm.streams.deleteMessage(`KV_${bucket}`, shardRev)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.MSG\.DELETE\./);
      await expect(jsm.streams.delete(`KV_${bucket}`)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.DELETE\./);
      // Nor through a stream of its own that republishes into the bucket (nodes create every stream).
      const republishing = { name: `${prefix}_${role}_relay`, subjects: [`${prefix}.interactions.>`], republish: { src: `${prefix}.interactions.>`, dest: `$KV.${bucket}.>` } };
      await expect(jsm.streams.add(republishing)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\./);
    }
    const shard = await kvNode.get('shards.0');
    expect({ value: shard?.string(), revision: shard?.revision }).toEqual({ value: owner, revision: shardRev });
    const m = await kvNode.get('members.x');
    expect({ value: m?.string(), revision: m?.revision }).toEqual({ value: member, revision: memberRev });
    // The same writes by a node: the rule, not a broken setup, refused the others.
    expect(await kvNode.put('shards.0', JSON.stringify({ owner: 'n2', epoch: 4 }))).toBeGreaterThan(memberRev);
    expect(await kvNode.put('members.x', member)).toBeGreaterThan(memberRev);
    await kvNode.delete('members.x');
  });

  it('nats permissions - a client without credentials, or with a wrong password, cannot connect; with its role credentials it can', async () => {
    const tls = { caFile: assets.ca, certFile: assets.roles.node.cert, keyFile: assets.roles.node.key };
    await expect(connect({ servers: nats.url, tls, maxReconnectAttempts: 0 })).rejects.toMatchObject({ name: 'AuthorizationError' });
    await expect(connect({ servers: nats.url, tls, user: userOf(assets, 'node').user, pass: 'not-the-password', maxReconnectAttempts: 0 })).rejects.toMatchObject({ name: 'AuthorizationError' });
    const nc = await connect({ servers: nats.url, tls, ...userOf(assets, 'node'), maxReconnectAttempts: 0 });
    await nc.flush();
    await nc.close();
  });

  it('nats permissions - each role has an nkey user too: its seed signs in with the role\'s permissions (a gateway\'s ownership write is refused), an unknown nkey is refused, and reel commands take --nkey', async () => {
    const tls = { caFile: assets.ca, certFile: assets.roles.gateway.cert, keyFile: assets.roles.gateway.key };
    const seed = (role: Role) => readNkeySeed(assets.roles[role].nkey);
    expect(statSync(assets.roles.gateway.nkey).mode & 0o077).toBe(0);
    const gw = await connect({ servers: nats.url, tls, authenticator: nkeyAuthenticator(() => seed('gateway')), maxReconnectAttempts: 0, noAsyncTraces: true });
    open.push(gw);
    const bucket = `${prefix}_cluster`;
    const kvNode = await new Kvm(await as('node')).create(bucket, { history: 1 });
    await kvNode.put('shards.1', JSON.stringify({ owner: 'n1', epoch: 1 }));
    const kv = await new Kvm(gw).open(bucket);
    await expect(kv.put('shards.1', JSON.stringify({ owner: 'gw', epoch: 9 }))).rejects.toThrow(/Permissions Violation for Publish to "\$KV\./);
    expect(JSON.parse((await kvNode.get('shards.1'))!.string()).owner).toBe('n1');
    // A user nkey the server does not list.
    await expect(connect({ servers: nats.url, tls, authenticator: nkeyAuthenticator(() => createUser().getSeed()), maxReconnectAttempts: 0 })).rejects.toMatchObject({ name: 'AuthorizationError' });
    // The CLI as operator, signing in with the nkey: it gets as far as the cluster bucket (which holds no config yet).
    const r = await runReel(['status', '--nats', nats.url, '--prefix', `${prefix}x`, '--nkey', assets.roles.operator.nkey, '--tls-ca', assets.ca, '--tls-cert', assets.roles.operator.cert, '--tls-key', assets.roles.operator.key]);
    expect(r.stderr).toContain(`no reel cluster with prefix '${prefix}x'`);
    // A seed file others may read is refused before connecting.
    const loose = join(root, 'loose.nk');
    writeFileSync(loose, readFileSync(assets.roles.operator.nkey), { mode: 0o644 });
    const l = await runReel(['status', '--nats', nats.url, '--nkey', loose]);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain(`nkey seed file ${loose} is readable or writable by group or others`);
  });

  it('nats permissions - a plaintext client cannot connect when TLS is required; the same client over TLS can', async () => {
    const plain = await probe(nats.port, userOf(assets, 'node'));
    expect(plain.accepted, plain.detail).toBe(false);
    // nats.js itself refuses to stay in plaintext: without --tls-ca it upgrades and distrusts the local CA.
    await expect(connect({ servers: nats.url, ...userOf(assets, 'node'), maxReconnectAttempts: 0 })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const overTls = await probe(nats.port, userOf(assets, 'node'), { ca: assets.ca, cert: assets.roles.node.cert, key: assets.roles.node.key });
    expect(overTls).toEqual({ accepted: true, detail: 'PONG' });
  });

  it('nats permissions - a client certificate signed by another CA is refused in the TLS handshake; none at all too', async () => {
    const other = await makeSecureAssets(join(root, 'other-ca'));
    const from = readFileSync(logFile, 'utf8').length;
    const foreign = await probe(nats.port, userOf(assets, 'node'), { ca: assets.ca, cert: other.roles.node.cert, key: other.roles.node.key });
    expect(foreign.accepted, foreign.detail).toBe(false);
    expect(foreign.detail).toMatch(/ALERT/);
    await waitFor('the server logs the unknown authority', () => /failed to verify client certificate: x509: certificate signed by unknown authority/.test(logSince(logFile, from)), { describe: () => logSince(logFile, from) });
    const none = await probe(nats.port, userOf(assets, 'node'), { ca: assets.ca });
    expect(none.accepted, none.detail).toBe(false);
    expect(none.detail).toMatch(/ALERT/);
  });

  it('nats permissions - an expired client certificate is refused; the same key and CA with current dates is accepted', async () => {
    const day = 86_400_000;
    const certs = await certsForOneKey(assets, join(root, 'expired'), Date.now() - 30 * day, Date.now() - day);
    const from = readFileSync(logFile, 'utf8').length;
    const expired = await probe(nats.port, userOf(assets, 'node'), { ca: assets.ca, cert: certs.dated, key: certs.key });
    expect(expired.accepted, expired.detail).toBe(false);
    expect(expired.detail).toMatch(/ALERT/);
    await waitFor('the server logs the expiry', () => /certificate has expired or is not yet valid/.test(logSince(logFile, from)), { describe: () => logSince(logFile, from) });
    const current = await probe(nats.port, userOf(assets, 'node'), { ca: assets.ca, cert: certs.current, key: certs.key });
    expect(current).toEqual({ accepted: true, detail: 'PONG' });
  });
});

type Unary = (req: unknown, md: Metadata, cb: (err: ServiceError | null, res: unknown) => void) => void;

/** Calls a unary gRPC method; resolves with the answer or the error. */
function call(client: Client, method: string, req: unknown, md = new Metadata()): Promise<{ res?: Record<string, unknown>; err?: ServiceError }> {
  return new Promise((resolve) => ((client as unknown as Record<string, Unary>)[method]!).call(client, req, md, (err, res) => resolve(err ? { err } : { res: res as Record<string, unknown> })));
}

describe('nats permissions - reel node, gateway and CLI with their role credentials over TLS (real processes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'reel-nats-cli-'));
  const prefix = uniquePrefix('secure');
  const logFile = join(root, 'nats-server.log');
  const ADMIN_TOKEN = 'perm-admin-token';
  let assets: SecureAssets;
  let nats: NatsServerHandle;
  const procs: NodeProcess[] = [];
  const grpcClients: Client[] = [];

  /** The flags that connect `role`: its credentials file, the CA, its client certificate. */
  const secure = (role: Role) => ['--credentials', assets.roles[role].credentials, '--tls-ca', assets.ca, '--tls-cert', assets.roles[role].cert, '--tls-key', assets.roles[role].key];
  const at = () => ['--nats', nats.url, '--prefix', prefix];

  beforeAll(async () => {
    assets = await makeSecureAssets(join(root, 'secure'));
    nats = await securedServer(assets, prefix, logFile);
  });
  afterAll(async () => {
    for (const c of grpcClients) c.close();
    for (const p of procs.reverse()) await p.stop();
    await nats?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('nats permissions - reel node with the node credentials becomes ready; reel status and shards answer with the operator\'s, and refuse clearly what lacks; a gateway with the gateway\'s serves calls; nobody hits a permission violation', async () => {
    const start = readFileSync(logFile, 'utf8').length;
    const node = startNodeProcess(['node', ...at(), '--id', 'n1', '--shard-count', '8', ...FAST_NODE_FLAGS, ...secure('node')]);
    procs.push(node);
    await node.ready;

    const status = (args: string[]) => runReel(['status', ...at(), '--json', ...args], { timeoutMs: 30_000 });
    let last: Awaited<ReturnType<typeof status>> | undefined;
    await waitFor('reel status with the operator credentials reports a healthy cluster', async () => (last = await status(secure('operator'))).code === 0, { timeoutMs: 30_000, intervalMs: 200, describe: () => last });
    expect(JSON.parse(last!.stdout)).toMatchObject({ nodes: [expect.objectContaining({ id: 'n1' })] });

    // What a client lacks, each named with the flag to pass, at once (no connect timeout).
    const lacking = async (args: string[], message: string) => {
      const r = await status(args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(message);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'Refused' } });
    };
    const tlsOnly = ['--tls-ca', assets.ca, '--tls-cert', assets.roles.operator.cert, '--tls-key', assets.roles.operator.key];
    await lacking(tlsOnly, `the server at ${nats.url} refused the credentials (none were given): pass --credentials FILE or --user/--password`);
    await lacking(['--credentials', assets.roles.operator.credentials], `the server at ${nats.url} requires TLS: pass --tls-ca FILE (and --tls-cert/--tls-key when it verifies clients)`);
    await lacking(['--credentials', assets.roles.operator.credentials, '--tls-ca', assets.ca], `the server at ${nats.url} requires a client certificate: pass --tls-cert FILE --tls-key FILE`);
    const day = 86_400_000;
    const old = await certsForOneKey(assets, join(root, 'expired'), Date.now() - 30 * day, Date.now() - day);
    await lacking(['--credentials', assets.roles.operator.credentials, '--tls-ca', assets.ca, '--tls-cert', old.dated, '--tls-key', old.key], `verifies client certificates and would refuse --tls-cert ${old.dated}: it expired on`);
    // A node refuses to start the same way.
    const bare = await runReel(['node', ...at(), '--id', 'n2', '--tls-ca', assets.ca, '--tls-cert', assets.roles.node.cert, '--tls-key', assets.roles.node.key], { timeoutMs: 30_000 });
    expect(bare.code, bare.stderr).toBe(1);
    expect(bare.stderr).toContain('refused the credentials (none were given)');

    const gw = startNodeProcess(['gateway', ...at(), '--port', '0', ...secure('gateway')], { env: { REEL_ADMIN_TOKEN: ADMIN_TOKEN } });
    procs.push(gw);
    const address = `127.0.0.1:${(await gw.ready).port as number}`;
    const api = apiProtos().api.reel.v1 as unknown as Record<string, new (addr: string, c: ReturnType<typeof grpcCredentials.createInsecure>) => Client>;
    const client = (name: string) => {
      const c = new api[name]!(address, grpcCredentials.createInsecure());
      grpcClients.push(c);
      return c;
    };
    const admin = new Metadata();
    admin.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    // Asks to title and user actors, a stream publish, a scatter-gather, and the admin write a gateway may do.
    const upsert = await call(client('CatalogService'), 'BatchUpsertTitles', { titles: [{ titleId: 'perm-1', displayName: 'Secured (2026)', genres: ['Drama'], releaseYear: 2026 }] });
    expect(upsert.err).toBeUndefined();
    const recorded = await call(client('RecommendationService'), 'RecordInteractions', { interactions: [{ eventId: 'perm-e1', userId: 'u1', titleId: 'perm-1', type: 'INTERACTION_TYPE_THUMBS_UP' }] });
    expect(recorded.err).toBeUndefined();
    expect(recorded.res).toMatchObject({ recordedCount: 1 });
    const st = await call(client('AdminService'), 'GetClusterStatus', {}, admin);
    expect(st.err).toBeUndefined();
    expect(st.res).toMatchObject({ nodes: [expect.objectContaining({ nodeId: 'n1' })] });
    const rebalance = await call(client('AdminService'), 'RebalanceShards', {}, admin);
    expect(rebalance.err).toBeUndefined();

    // The operator's admin writes: a manual placement, then clearing them.
    const moved = await runReel(['shards', 'move', '3', 'n1', ...at(), '--timeout', '20', ...secure('operator')], { timeoutMs: 30_000 });
    expect(moved.code, moved.stderr).toBe(0);
    const balanced = await runReel(['shards', 'balance', ...at(), '--timeout', '20', ...secure('operator')], { timeoutMs: 30_000 });
    expect(balanced.code, balanced.stderr).toBe(0);

    // Every process did its work within its role: the server logged no violation of any.
    const log = logSince(logFile, start);
    expect(log).not.toMatch(/Violation/);
  });
});
