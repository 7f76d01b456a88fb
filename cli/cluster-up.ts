import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterDir, writeClusterFile } from './cluster-file.js';
import { CliError, ExitCode } from './exit-codes.js';
import { makeSecureAssets } from './nats-certs.js';
import { clientUrls, localNatsCluster, natsServerConfig, type NatsServerPlan } from './nats-config.js';
import { authorizationBlock, ROLES, tlsBlock, type Role } from './nats-security.js';
import { jetStreamReady } from './nats-ready.js';
import { findNatsServer } from './nats-server-binary.js';
import { connectionOptions } from './settings.js';
import type { Output } from './output.js';
import { portProblem } from './port-check.js';

/** Most nodes `cluster up` starts. */
export const MAX_LOCAL_NODES = 32;
/** Most nats-servers `cluster up` starts. */
export const MAX_LOCAL_NATS_SERVERS = 5;
/** How long nats-server may take to listen, in ms. */
const SERVER_START_TIMEOUT_MS = 10_000;
const SERVER_START_POLL_MS = 50;
/** How long a NATS cluster's JetStream may take to form (a leader elected, every server known), in ms. */
const JETSTREAM_READY_TIMEOUT_MS = 30_000;
/** How long a node may take to drain and exit after SIGTERM before it is killed, in ms. */
const NODE_STOP_TIMEOUT_MS = 60_000;
/** How long nats-server may take to exit after SIGINT before it is killed, in ms. */
const SERVER_STOP_TIMEOUT_MS = 10_000;
/** Lines of a log shown when its process fails. */
const LOG_TAIL_LINES = 8;

/** The flags of `reel cluster up`, as parsed (and type-checked) by the command line. */
export interface ClusterUpOptions {
  nodes: number;
  /** @default REEL_DIR, else `.reel` */
  dir?: string;
  /** nats-server i (from 0) listens for clients on this port + i. */
  port: number;
  /** Node i serves metrics on this port + i. */
  metricsPort: number;
  prefix?: string;
  /** nats-servers to start, routed to each other with clustered JetStream. @default 1 */
  natsServers?: number;
  /** nats-server i listens for routes on this port + i. @default port + 2000 */
  routePort?: number;
  /** Replicas of the cluster's buckets. @default 3 with three or more servers, else 1 */
  replicas?: number;
  /**
   * TLS required everywhere (clients and routes, with certificates from a local CA) and a NATS
   * user per role with its subject permissions; certificates and credentials in DIR/secure.
   */
  secure?: boolean;
}

/** A child process of `cluster up`, writing its output straight to its log file. */
interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves when the process has exited (or could not be started). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `cmd` in a process group of its own, its output appended to `logFile`. Its own group,
 * because a terminal's Ctrl-C goes to the whole foreground group at once: nats-server would stop
 * while the nodes still drain through it. Only `cluster up` signals its children, in order.
 */
function startChild(name: string, cmd: string, args: string[], logFile: string): Child {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => res({ code, signal }));
    // A spawn failure (ENOENT, EACCES) arrives as 'error', and 'exit' may never follow.
    child.once('error', () => res({ code: null, signal: null }));
  });
  return { name, child, logFile, exited, running: () => child.exitCode === null && child.signalCode === null && child.pid !== undefined };
}

/** Sends `signal`, and SIGKILL if the process has not exited after `timeoutMs`; resolves on exit. */
async function stopChild(c: Child, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!c.running()) return;
  c.child.kill(signal);
  const t = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  await c.exited;
  clearTimeout(t);
}

/**
 * Resolves once `server` listens on `port`, as its ports file (`<dir>/nats-server_<pid>.ports`,
 * written after it listens) says: proof that the process answering is ours, not another server on
 * that port. Fails as soon as the server exits, with the end of its log.
 */
async function serverListening(server: Child, portsDir: string, port: number): Promise<void> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((e) => (exit = e));
  const until = Date.now() + SERVER_START_TIMEOUT_MS;
  for (;;) {
    if (exit) throw new CliError(`nats-server exited during startup (${exit.code ?? exit.signal ?? 'could not start'}); the end of ${server.logFile}:\n${tail(server.logFile)}`);
    const file = readdirSync(portsDir).find((f) => f.endsWith(`_${server.child.pid}.ports`));
    if (file !== undefined && readFileSync(join(portsDir, file), 'utf8').includes(`:${port}"`)) return;
    if (Date.now() > until) throw new CliError(`nats-server did not listen on port ${port} within ${SERVER_START_TIMEOUT_MS / 1000} s; the end of ${server.logFile}:\n${tail(server.logFile)}`);
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, SERVER_START_POLL_MS))]);
  }
}

/** Fails, naming the port and the flag that sets it, when any port the cluster needs is taken. Nothing has started yet. */
async function checkPorts(o: ClusterUpOptions, plans: readonly NatsServerPlan[]): Promise<void> {
  const wanted: Array<{ port: number; what: string; flag: string }> = [];
  for (const [i, p] of plans.entries()) {
    wanted.push({ port: p.port, what: `${p.name}'s client port${i > 0 ? ` (--port ${o.port} + ${i})` : ''}`, flag: '--port' });
    if (p.cluster !== undefined) wanted.push({ port: p.cluster.port, what: `${p.name}'s route port (--route-port ${plans[0]!.cluster!.port} + ${i})`, flag: '--route-port' });
  }
  for (let i = 1; i <= o.nodes; i++) wanted.push({ port: o.metricsPort + i, what: `node-${i}'s metrics port (--metrics-port ${o.metricsPort} + ${i})`, flag: '--metrics-port' });
  for (const w of wanted) {
    const why = await portProblem(w.port);
    if (why !== undefined) throw new CliError(`port ${w.port} is in use (${why}); it would be ${w.what}: choose another with ${w.flag}`, ExitCode.Usage, 'PortInUse');
  }
}

/** Whether process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fails when a nats-server still runs on `natsDir` (its ports file names a live pid): two servers
 * on one JetStream store would corrupt it, whatever ports they listen on.
 */
function checkStoreFree(natsDir: string): void {
  let files: string[];
  try {
    files = readdirSync(natsDir);
  } catch {
    return; // no folder yet: nothing runs on it
  }
  for (const f of files) {
    const pid = Number(/_(\d+)\.ports$/.exec(f)?.[1]);
    if (pid > 0 && alive(pid)) throw new CliError(`a nats-server (pid ${pid}) already runs on ${natsDir} (another reel cluster up?): stop it, or choose another folder with --dir`, ExitCode.Usage, 'DirInUse');
  }
}

/**
 * `reel cluster up --nodes N [--nats-servers M]`: a local development cluster. M nats-servers with
 * JetStream (one by default; several are routed to each other, each with its own name and store,
 * and the cluster's buckets keep `--replicas` copies), their data under DIR/nats, N `reel node`
 * processes connected to every server (a client fails over) logging to DIR/logs, and
 * DIR/cluster.json naming the cluster's URLs and prefix for later commands run in the same folder.
 *
 * Every port is checked before anything starts. SIGINT (Ctrl-C), SIGTERM or SIGHUP stops the
 * cluster in order: every node drains and exits, then the servers stop. A node that dies during
 * the run is reported and the others keep running; so is a server while another one runs (the
 * nodes fail over to it); once no server runs, the nodes are stopped. Exit 0 only when every node
 * drained and exited 0 and every server stopped cleanly; otherwise 1. If this process is killed
 * outright (SIGKILL), its children keep running: stop them by hand.
 */
export async function runClusterUp(o: ClusterUpOptions, out: Output): Promise<number> {
  if (o.metricsPort + o.nodes > 65535) throw new CliError(`--metrics-port ${o.metricsPort}: node ${o.nodes} would serve metrics on port ${o.metricsPort + o.nodes}, past 65535`, ExitCode.Usage);
  const servers = o.natsServers ?? 1;
  const routePort = o.routePort ?? o.port + 2000;
  if (o.port + servers - 1 > 65535) throw new CliError(`--port ${o.port}: nats-server ${servers} would listen on port ${o.port + servers - 1}, past 65535`, ExitCode.Usage);
  if (servers > 1 && routePort + servers - 1 > 65535) throw new CliError(`--route-port ${routePort}: nats-server ${servers} would route on port ${routePort + servers - 1}, past 65535`, ExitCode.Usage);
  const replicas = o.replicas ?? (servers >= 3 ? 3 : 1);
  if (replicas > servers) throw new CliError(`--replicas ${replicas} needs at least ${replicas} nats-servers (--nats-servers ${servers}): JetStream keeps each replica on another server`, ExitCode.Usage);
  const bin = findNatsServer();
  const dir = resolve(o.dir ?? clusterDir());
  const natsDir = join(dir, 'nats');
  const logs = join(dir, 'logs');
  // One server keeps its store in DIR/nats itself, as before there could be several.
  checkStoreFree(natsDir);
  const prefix = o.prefix ?? 'reel';
  // Certificates and credentials first (kept from an earlier run): the servers' config names them.
  const secure = o.secure === true ? await makeSecureAssets(join(dir, 'secure')) : undefined;
  const security = secure === undefined ? {} : {
    extra: `${authorizationBlock(secure.users, prefix)}${tlsBlock({ cert: secure.server.cert, key: secure.server.key, ca: secure.ca, verify: true })}`,
    clusterExtra: tlsBlock({ cert: secure.server.cert, key: secure.server.key, ca: secure.ca, verify: true }),
  };
  const plans = localNatsCluster({ servers, port: o.port, routePort, dir: natsDir, ...security }).map((p) => (servers === 1 ? { ...p, storeDir: natsDir } : p));
  await checkPorts(o, plans);

  mkdirSync(natsDir, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const url = clientUrls(plans);
  /** How a role connects (a secured cluster only): its nkey seed, its certificate, and the CA. */
  const connectAs = (role: Role): string[] => {
    if (secure === undefined) return [];
    const r = secure.roles[role];
    return ['--nkey', r.nkey, '--tls-ca', secure.ca, '--tls-cert', r.cert, '--tls-key', r.key];
  };

  const natsServers: Child[] = [];
  const nodes: Child[] = [];
  let failed = false;
  let stopping: Promise<void> | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  /** Nodes first, each draining through the servers; the servers once the last node has exited. */
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const live = nodes.filter((c) => c.running());
      if (live.length > 0) out.info(`reel: stopping: draining ${live.map((c) => c.name).join(', ')}…`);
      await Promise.all(live.map((c) => stopChild(c, 'SIGTERM', NODE_STOP_TIMEOUT_MS)));
      const running = natsServers.filter((c) => c.running());
      if (running.length > 0) {
        out.info(`reel: every node has exited; stopping ${running.map((c) => c.name).join(', ')}`);
        // SIGINT: nats-server's clean shutdown, exit 0 (2.9 exits 1 on SIGTERM).
        await Promise.all(running.map((c) => stopChild(c, 'SIGINT', SERVER_STOP_TIMEOUT_MS)));
      }
      finish();
    })());

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!signalled) out.info(`reel: ${signal}`);
    signalled = true;
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Last resort: should this process end any other way, its children do not outlive it.
  process.on('exit', () => {
    for (const c of nodes) if (c.running()) c.child.kill('SIGTERM');
    for (const c of natsServers) if (c.running()) c.child.kill('SIGINT');
  });

  for (const plan of plans) {
    // One server is simply "nats-server" in messages and file names, as before there could be several.
    const name = servers === 1 ? 'nats-server' : plan.name;
    const conf = join(natsDir, `${name}.conf`);
    // Owner only: a secured server's config holds every role's password.
    writeFileSync(conf, natsServerConfig(plan), { mode: 0o600 });
    natsServers.push(startChild(name, bin, ['-c', conf, '--ports_file_dir', natsDir], join(logs, `${name}.log`)));
  }
  try {
    await Promise.all(natsServers.map((c, i) => serverListening(c, natsDir, plans[i]!.port)));
  } catch (err) {
    await stop();
    // Stopped by a signal during startup: the servers' exits were our doing, not an error.
    if (signalled) return (await Promise.all(natsServers.map((c) => c.exited))).every((e) => e.code === 0) ? ExitCode.Ok : ExitCode.Failed;
    throw err;
  }
  // Several servers elect a JetStream leader and find each other first: nodes started before would
  // time out creating the cluster's buckets.
  if (servers > 1) {
    const asOperator = secure === undefined ? {} : { credentials: secure.roles.operator.credentials, tlsCa: secure.ca, tlsCert: secure.roles.operator.cert, tlsKey: secure.roles.operator.key };
    const opts = connectionOptions({ nats: url, prefix, ...asOperator }, 'reel cluster up');
    try {
      await Promise.all(plans.map((p, i) => jetStreamReady(`nats://${p.host}:${p.port}`, opts, servers, JETSTREAM_READY_TIMEOUT_MS, () => (natsServers[i]!.running() ? undefined : `${natsServers[i]!.name} exited; the end of ${natsServers[i]!.logFile}:\n${tail(natsServers[i]!.logFile)}`))));
    } catch (err) {
      await stop();
      if (signalled) return ExitCode.Failed;
      throw new CliError((err as Error).message);
    }
  }
  for (const srv of natsServers) {
    void srv.exited.then(({ code, signal }) => {
      if (stopping && code === 0) return out.info(`reel: ${srv.name} stopped`);
      failed = true;
      const others = natsServers.filter((c) => c !== srv && c.running());
      const then = stopping ? ' while stopping' : others.length > 0 ? `; the nodes fail over to ${others.map((c) => c.name).join(', ')}` : ' and no server is left; stopping the nodes';
      out.info(`reel: ${srv.name} exited (${code ?? signal})${then}; the end of ${srv.logFile}:\n${tail(srv.logFile)}`);
      if (others.length === 0) void stop();
    });
  }
  const operator = secure?.roles.operator;
  const file = writeClusterFile(dir, { nats: url, prefix, ...(secure !== undefined && operator !== undefined ? { credentials: operator.credentials, tlsCa: secure.ca, tlsCert: operator.cert, tlsKey: operator.key } : {}) });
  const what = servers === 1 ? `nats-server on ${url}` : `${servers} nats-servers on ${url} (routes on :${routePort}-${routePort + servers - 1}, buckets with ${replicas} replica(s))`;
  out.info(`reel: ${what} (data in ${natsDir}); wrote ${file}`);
  if (secure !== undefined) {
    out.info(`reel: TLS required (CA ${secure.ca}); per role (${ROLES.join(', ')}) a client certificate and two ways to sign in, in ${secure.dir}: an nkey seed (<role>.nk, --nkey; the nodes use it) and a credentials file (<role>.credentials.json, --credentials; commands run in this folder use the operator's)`);
  }

  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  for (let i = 1; i <= o.nodes && !stopping; i++) {
    const id = `node-${i}`;
    const args = [cli, 'node', '--nats', url, '--prefix', prefix, '--id', id, '--metrics-port', String(o.metricsPort + i), '--replicas', String(replicas), ...connectAs('node')];
    const node = startChild(id, process.execPath, args, join(logs, `${id}.log`));
    nodes.push(node);
    void node.exited.then(({ code, signal }) => {
      // Exit 0 is a drain, ours or an operator's (`reel drain node-1`); anything else is a failure.
      if (code !== 0) failed = true;
      const during = stopping ? '' : code === 0 ? ', drained; the other nodes keep running' : ' on its own; the other nodes keep running';
      out.info(`reel: ${id} exited (${code ?? signal})${during}`);
      if (code !== 0) out.info(`the end of ${node.logFile}:\n${tail(node.logFile)}`);
    });
  }
  if (!stopping) {
    const here = resolve(clusterDir()) === dir;
    out.line(`local cluster: ${o.nodes} node(s) on ${url}, metrics on :${o.metricsPort + 1}-${o.metricsPort + o.nodes}, logs in ${logs}`);
    out.line(`try: reel status${here ? '' : ` --nats ${url}${prefix === 'reel' ? '' : ` --prefix ${prefix}`}`}    (Ctrl-C drains the nodes, then stops the ${servers === 1 ? 'server' : 'servers'})`);
  }
  await finished;
  return failed ? ExitCode.Failed : ExitCode.Ok;
}
