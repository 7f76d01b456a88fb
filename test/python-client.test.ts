import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startServing } from './harness/processes.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

/** What scripts/python-client/client.py prints. */
interface PythonClientOutput {
  recommend: { model_version: string; fallback: boolean; titles: string[]; display_names: string[] };
  similar: { model_version: string; titles: string[] };
  record: { recorded_count: number; duplicate_count: number };
  bad_request: { code: string; message: string; error_info?: { domain: string; reason: string }; field_violations?: Array<{ field: string; description: string }> };
}

/** Fails, naming the Debian packages to install, when protoc or Python's protobuf and grpcio are missing: never a skip. */
async function requirePythonClientTools(): Promise<void> {
  const check = await run('bash', [join(root, 'scripts', 'ensure-python-client.sh'), '--check']).then(
    () => undefined,
    (e: { stderr: string }) => e.stderr.trim(),
  );
  if (check !== undefined) throw new Error(`the Python client test cannot run: ${check}`);
}

describe('a client in another language', () => {
  it('python client - calls Recommend, SimilarTitles and RecordInteractions with message classes generated from protos/ alone, and reads the google.rpc.Status of a bad request', async () => {
    await requirePythonClientTools();
    // The cheapest server of the whole API surface it calls: `reel start` in one process.
    const { child, exited, address } = await startServing(['--synthetic', '--port', '0']);
    try {
      const py = await run('bash', [join(root, 'scripts', 'python-client', 'run.sh'), address, '--user', '1', '--title', '1']).catch((e: { stdout: string; stderr: string; message: string }) => {
        throw new Error(`the Python client failed: ${e.message}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
      });
      const out = JSON.parse(py.stdout) as PythonClientOutput;

      expect(out.recommend).toMatchObject({ model_version: 'start', fallback: false });
      expect(out.recommend.titles).toHaveLength(5);
      for (const name of out.recommend.display_names) expect(name).toMatch(/^Title \d+ \(\d{4}\)$/);
      expect(out.similar.model_version).toBe('start');
      expect(out.similar.titles).toHaveLength(5);
      expect(out.similar.titles).not.toContain('1');
      // The same event twice in one batch: recorded once.
      expect(out.record).toEqual({ recorded_count: 1, duplicate_count: 1 });
      expect(out.bad_request).toMatchObject({
        code: 'INVALID_ARGUMENT',
        error_info: { domain: 'reel.v1', reason: expect.any(String) },
        field_violations: [expect.objectContaining({ field: 'user_id' })],
      });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
