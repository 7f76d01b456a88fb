import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { builtCli } from './harness/processes.js';

const run = promisify(execFile);
const cli = builtCli();

describe('reel start', () => {
  it('cli - start loads MovieLens into actors and loses nothing', async () => {
    const { stdout } = await run(process.execPath, [cli, 'start', '--json', '--data', `${import.meta.dirname}/../../shared/datasets/ml-100k`]);
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ ratings: 100_000, user_actors: 943, title_actors: 1682, lost: 0 });
    expect((r.most_rated as Array<{ title: string }>)[0]!.title).toBe('Star Wars (1977)');
  });

  it('cli - start with a missing data path fails with a message naming it', async () => {
    const err = (await run(process.execPath, [cli, 'start', '--data', '/nonexistent/ml']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('no ratings file (u.data or ratings.dat) at /nonexistent/ml');
  });

  it('cli - every command has --help', async () => {
    for (const args of [['--help'], ['start', '--help']]) {
      const { stdout } = await run(process.execPath, [cli, ...args]);
      expect(stdout).toContain('Usage: reel');
    }
  });
});
