import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/** Finds the nats-server binary on PATH, then in the directories Debian and manual installs use. */
export function findNatsServer(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error("nats-server not found on PATH or in /usr/sbin: install it with 'apt-get update && apt-get install -y nats-server'");
}
