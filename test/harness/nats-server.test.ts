import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, uniquePrefix } from './nats-server.js';

describe('harness nats-server', () => {
  it('harness - starts a server whose url accepts connections, and stop removes its temp dir', async () => {
    const server = await startNatsServer();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const root = dirname(server.storeDir);
    expect(existsSync(root)).toBe(true);
    const nc = await connect({ servers: server.url });
    await nc.flush();
    expect(nc.info?.jetstream).toBe(true);
    await nc.close();
    await server.stop();
    expect(existsSync(root)).toBe(false);
    expect(() => process.kill(server.pid, 0)).toThrow();
    await server.stop(); // idempotent
  });

  it('harness - jetstream can be turned off and await using stops the server', async () => {
    let pid = 0;
    {
      await using server = await startNatsServer({ jetstream: false });
      pid = server.pid;
      const nc = await connect({ servers: server.url });
      await nc.flush();
      expect(nc.info?.jetstream ?? false).toBe(false);
      await nc.close();
    }
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('harness - two servers run side by side on different ports', async () => {
    const [s1, s2] = await Promise.all([startNatsServer({ jetstream: false }), startNatsServer({ jetstream: false })]);
    expect(s1.port).not.toBe(s2.port);
    await Promise.all([s1.stop(), s2.stop()]);
  });

  it('harness - a server that exits during startup fails with its stderr tail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reel-fake-nats-'));
    const fake = join(dir, 'nats-server');
    writeFileSync(fake, '#!/bin/sh\necho "fake: cannot listen" >&2\nexit 3\n');
    chmodSync(fake, 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${path ?? ''}`;
    try {
      await expect(startNatsServer()).rejects.toThrow(/exited during startup \(code 3[\s\S]*fake: cannot listen/);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('harness - uniquePrefix is a valid subject token and bucket fragment', () => {
    const p = uniquePrefix('my label.x');
    expect(p).toMatch(/^t_my_label_x_[A-Za-z0-9_-]{6}$/);
    expect(uniquePrefix('a')).not.toBe(uniquePrefix('a'));
  });
});
