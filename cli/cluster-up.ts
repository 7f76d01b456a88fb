import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, ExitCode } from './exit-codes.js';
import { findNatsServer } from './nats-server-binary.js';
import type { Output } from './output.js';

export interface ClusterUpOptions {
  nodes: string;
  dir: string;
  port: string;
  metricsPort: string;
  prefix?: string;
}

/**
 * `reel cluster up --nodes N`: a local development cluster. One `nats-server -js` with its
 * data under DIR, N `reel node` processes, each logging to DIR/logs; Ctrl-C drains the
 * nodes, then stops the server.
 */
export async function runClusterUp(o: ClusterUpOptions, out: Output): Promise<number> {
  const n = Number(o.nodes);
  const port = Number(o.port);
  const metricsBase = Number(o.metricsPort);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new CliError(`--nodes '${o.nodes}' must be 1-32`, ExitCode.Usage);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port '${o.port}' is not a port`, ExitCode.Usage);
  const dir = resolve(o.dir);
  const logs = join(dir, 'logs');
  mkdirSync(join(dir, 'nats'), { recursive: true });
  mkdirSync(logs, { recursive: true });
  const bin = findNatsServer();
  const url = `nats://127.0.0.1:${port}`;
  const children: Array<{ name: string; child: ChildProcess }> = [];
  let stopping = false;
  const start = (name: string, cmd: string, args: string[]) => {
    const logFile = join(logs, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    child.on('exit', (code, sig) => {
      out.info(`reel: ${name} exited (${code ?? sig})`);
      // A process that dies on its own: show why, from the end of its log.
      if (!stopping && code !== 0) log.end(() => out.info(readFileSync(logFile, 'utf8').split('\n').slice(-6).join('\n')));
    });
    children.push({ name, child });
    return child;
  };
  start('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'nats')]);
  await waitForPort(port, 10_000);
  out.info(`reel: nats-server on ${url} (data in ${join(dir, 'nats')})`);
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  for (let i = 1; i <= n; i++) {
    const id = `node-${i}`;
    const args = [cli, 'node', '--nats', url, '--id', id, '--metrics-port', String(metricsBase + i)];
    if (o.prefix) args.push('--prefix', o.prefix);
    start(id, process.execPath, args);
  }
  out.line(`local cluster: ${n} node(s) on ${url}, metrics on :${metricsBase + 1}-${metricsBase + n}, logs in ${logs}`);
  out.line(`try: reel status --nats ${url}    (Ctrl-C drains the nodes and stops everything)`);
  return new Promise<number>((resolveExit) => {
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      out.info('reel: stopping: draining nodes…');
      const nodes = children.filter((c) => c.name !== 'nats-server');
      await Promise.all(nodes.map(({ child }) => exitOf(child, 'SIGTERM', 60_000)));
      await exitOf(children[0]!.child, 'SIGTERM', 10_000);
      resolveExit(ExitCode.Ok);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  });
}

function exitOf(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill(signal);
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new CliError(`nats-server did not listen on port ${port} within ${timeoutMs / 1000} s (see its log)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
