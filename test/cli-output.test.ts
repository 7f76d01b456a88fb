import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { builtCli, runReel } from './harness/processes.js';

const cli = builtCli();

const reel = (args: string[]) => runReel(args);

describe('reel output', () => {
  it('output - a reader that closes stdout early (reel start | head -1) ends the command quietly, exit 0', async () => {
    const child = spawn(process.execPath, [cli, 'start', '--once', '--synthetic'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before the first line: every write to stdout meets a closed pipe (EPIPE).
    child.stdout!.destroy();
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    expect(code).toBe(0);
  });

  it('output - with --json, a failure is a JSON error object on stdout (and the message on stderr), exit non-zero', async () => {
    const usage = await reel(['drain', 'a', '--timeout', 'abc', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'Usage', message: expect.stringContaining('--timeout'), exitCode: 2 } });
    expect(usage.stderr).toContain('--timeout');

    const unreachable = await reel(['status', '--json', '--nats', 'nats://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(JSON.parse(unreachable.stdout)).toEqual({ error: { code: 'Unreachable', message: expect.stringContaining('cannot connect to NATS at nats://127.0.0.1:1'), exitCode: 1 } });

    // A command's own typed error, too.
    const start = await reel(['start', '--once', '--json', '--data', '/nonexistent/ml']);
    expect(start.code).toBe(2);
    expect(JSON.parse(start.stdout)).toEqual({ error: { code: 'Usage', message: expect.stringContaining('--data /nonexistent/ml'), exitCode: 2 } });
  });

  it('output - reel node --events names the event types it takes when given one it does not know, before it connects', async () => {
    const r = await reel(['node', '--id', 'n1', '--nats', 'nats://127.0.0.1:1', '--events', 'snapshot,activation-stop']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--events takes event types, comma-separated, from activation-start, activation-end, activation-carry, snapshot (got "snapshot,activation-stop")');
  });
});
