import { clusterStatus, type ClusterReport } from '../cluster/index.js';
import { operatorClient } from './cluster-connect.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

function ranges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(',') || '-';
}

/** Renders rows as a left-aligned table. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** `n thing` or `n things`. */
function count(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`;
}

/** The human report; `at` says which server was asked and where its URL came from. */
export function renderStatus(r: ClusterReport, at?: { nats: string; natsFrom: string }): string {
  const rows = [['NODE', 'HEALTH', 'ROLES', 'WEIGHT', 'SHARDS', 'EPOCHS', 'ACTORS', 'HEARTBEAT']];
  for (const n of r.nodes) {
    rows.push([
      n.id,
      [n.health, ...(n.failed !== undefined ? ['failed'] : n.draining ? ['draining'] : []), ...(n.health === 'live' && !n.connected ? ['disconnected'] : [])].join(','),
      n.roles.join(',') || '-',
      String(n.weight),
      String(n.shards),
      n.epochs ? (n.epochs[0] === n.epochs[1] ? String(n.epochs[0]) : `${n.epochs[0]}-${n.epochs[1]}`) : '-',
      n.activeActors === undefined ? '?' : String(n.activeActors),
      n.heartbeatAgeMs === null ? (n.health === 'live' ? 'ok' : 'none seen') : `${(n.heartbeatAgeMs / 1000).toFixed(1)}s ago`,
    ]);
  }
  const owned = r.shardCount - r.unowned.length;
  const live = r.nodes.filter((n) => n.health !== 'gone').length;
  const where = at ? ` at ${at.nats} (${at.natsFrom === 'default' ? 'the default URL' : `from ${at.natsFrom}`})` : '';
  const lines = [
    `cluster '${r.prefix}'${where}: ${count(r.shardCount, 'shard')}, ${count(live, 'live node')} — ${r.healthy ? 'healthy' : 'DEGRADED'}`,
    '',
    table(rows),
    '',
    `shards: ${owned} owned, ${r.unowned.length} unowned (${ranges(r.unowned)}), ${r.moving.length} moving (${ranges(r.moving)}), ${r.misplaced.length} to rebalance (${ranges(r.misplaced)})`,
  ];
  for (const n of r.nodes.filter((x) => x.health === 'gone')) {
    lines.push(`gone: ${n.id} ${n.failed !== undefined ? `failed and left (${n.failed})` : 'stopped without leaving (crashed, killed or cut off)'}; listed until the others remove its entry`);
  }
  const ov = Object.entries(r.overrides);
  if (ov.length) lines.push(`overrides: ${ov.map(([s, n]) => `${s}→${n}`).join(', ')}`);
  return lines.join('\n');
}

/** `reel status`: exit 0 when healthy, 3 when degraded. */
export async function runStatus(flags: Record<string, unknown>, out: Output): Promise<number> {
  const { client, settings, close } = await operatorClient(flags);
  try {
    const report = await clusterStatus(client, settings.prefix, settings.heartbeatWindowMs !== undefined ? { heartbeatWindowMs: settings.heartbeatWindowMs } : {});
    if (flags.json) out.json(report);
    else out.line(renderStatus(report, settings));
    return report.healthy ? ExitCode.Ok : ExitCode.Degraded;
  } finally {
    await close();
  }
}
