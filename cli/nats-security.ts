import { clusterBucket, modelsBucket } from '../cluster/index.js';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * Who may do what on a secured reel cluster's NATS: the roles, their subject permissions and
 * the nats-server configuration blocks that state them (users, TLS). The certificates and
 * credentials files are made by `nats-certs.ts`; a client that lacks what a server requires is
 * told so by `nats-diagnose.ts`.
 */
/**
 * The NATS users of a secured reel cluster. `node`: a `reel node` (hosts shards, owns the
 * cluster's state). `gateway`: a `reel gateway` (asks actors, records interactions, the admin
 * API's shard and model calls). `operator`: the CLI (`reel status`, `drain`, `shards`, `models`,
 * `train`, `load`, `eval`).
 */
export const ROLES = ['node', 'gateway', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Subjects a user may (`allow`) and may not (`deny`, which wins in nats-server) use. */
export interface SubjectRules {
  allow: string[];
  deny?: string[];
}

/** One user's permissions, as nats-server's `permissions` takes them. */
export interface RolePermissions {
  publish: SubjectRules;
  subscribe: SubjectRules;
}

/** A role's NATS user. */
export interface RoleUser {
  role: Role;
  user: string;
  password: string;
  /** The role's user nkey (public, `U…`): a second user of the role, with the same permissions, that signs in with its seed (`--nkey`) and has no password in the server's config. */
  nkey?: string;
}

// A cluster prefix is a subject token and part of bucket names (`<prefix>_cluster`), which allow no more.
const PREFIX_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Subject permissions per role for the cluster `prefix`. Nodes are trusted with everything
 * reel does on NATS, and create its streams and buckets. Gateways and operators get what their
 * calls need and are denied, on top (deny wins in nats-server, so a wider allow list added later
 * keeps them), every way to write the cluster bucket's ownership, membership, config and
 * placement entries: with those a gateway could take a shard from its owner or forge a member.
 */
export function rolePermissions(prefix: string): Record<Role, RolePermissions> {
  if (!PREFIX_RE.test(prefix)) throw new CliError(`prefix '${prefix}' is not a valid cluster prefix ([A-Za-z0-9_-] only)`, ExitCode.Usage);
  const p = prefix;
  const clusterKv = `$KV.${clusterBucket(p)}`;
  // Actor messages: asks to shards, asks to nodes (scatter-gather, drain), answers to reply prefixes.
  const actorSubjects = [`${p}.s.>`, `${p}.n.>`, `${p}.r.>`];
  // Reading buckets, streams and the object store: stream info, message and direct gets, and the
  // consumers that KV watches, key lists and object reads create (ordered push consumers answer
  // the server's flow control on $JS.FC). No stream is created, changed or purged through these.
  const jetStreamReads = ['$JS.API.INFO', '$JS.API.STREAM.INFO.*', '$JS.API.STREAM.NAMES', '$JS.API.STREAM.LIST', '$JS.API.STREAM.MSG.GET.*', '$JS.API.DIRECT.GET.>', '$JS.API.CONSUMER.>', '$JS.FC.>'];
  // Every write path to the cluster bucket's owner-only keys: the KV subjects themselves, and the
  // stream API calls that delete, purge or restore a stream's messages, or create or change a
  // stream: a stream's config writes elsewhere (republish, sources, mirrors), and one that
  // republishes into `$KV.<prefix>_cluster.>` writes any key there. Nodes create every stream and
  // bucket reel uses when they start, so gateways and operators only open them.
  const ownershipWrites = [
    `${clusterKv}.shards.>`,
    `${clusterKv}.members.>`,
    `${clusterKv}.config`,
    `${clusterKv}.placement`,
    ...['CREATE', 'UPDATE', 'DELETE', 'PURGE', 'MSG.DELETE', 'RESTORE'].map((op) => `$JS.API.STREAM.${op}.>`),
  ];
  // What the CLI and the gateway's admin calls write: manual placements (`reel shards move/balance`,
  // RebalanceShards) and the model registry (`reel train`, `models activate`, training jobs).
  const operatorWrites = [...actorSubjects, `${clusterKv}.overrides.>`, `$KV.${modelsBucket(p)}.>`, ...jetStreamReads];
  // A client (gateway, CLI) answers on its own reply prefix and node subject, whose ids are random.
  const clientSubscribe = { allow: [`${p}.n.>`, `${p}.r.>`, '_INBOX.>'] };
  return {
    node: {
      publish: {
        allow: [
          ...actorSubjects,
          // Peer probes and handoff fetches between nodes, answered on the asker's _INBOX.
          `${p}.alive.>`,
          `${p}.handover.>`,
          '_INBOX.>',
          `${p}.interactions.>`,
          // Cluster, snapshot and model buckets, the checkpoint object store, and creating them.
          '$KV.>',
          '$O.>',
          '$JS.API.>',
          // Acknowledging the interaction stream's messages, and ordered consumers' flow control.
          '$JS.ACK.>',
          '$JS.FC.>',
        ],
      },
      subscribe: { allow: [...actorSubjects, `${p}.alive.>`, `${p}.handover.>`, '_INBOX.>'] },
    },
    // RecordInteractions, into the stream a node created; the rest as an operator.
    gateway: { publish: { allow: [...operatorWrites, `${p}.interactions.>`], deny: ownershipWrites }, subscribe: clientSubscribe },
    operator: { publish: { allow: operatorWrites, deny: ownershipWrites }, subscribe: clientSubscribe },
  };
}

/** A string in nats-server config syntax: double-quoted, JSON escapes (which its parser reads). */
function q(s: string): string {
  return JSON.stringify(s);
}

function rulesBlock(r: SubjectRules): string {
  const deny = r.deny !== undefined && r.deny.length > 0 ? `, deny: [${r.deny.map(q).join(', ')}]` : '';
  return `{ allow: [${r.allow.map(q).join(', ')}]${deny} }`;
}

/**
 * nats-server config text: an `authorization` block with one user per entry and its role's
 * permissions for the cluster `prefix`. Passwords are written as given (plain): keep the
 * config file readable only by the server's user.
 */
export function authorizationBlock(users: ReadonlyArray<RoleUser>, prefix: string): string {
  const perms = rolePermissions(prefix);
  const entries = users.flatMap((u) => {
    if (!(ROLES as readonly string[]).includes(u.role)) throw new CliError(`unknown NATS role '${u.role}' (known: ${ROLES.join(', ')})`, ExitCode.Usage);
    if (u.nkey !== undefined && !/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new CliError(`'${u.nkey}' is not a user nkey (a public key, "U" and 55 more characters)`, ExitCode.Usage);
    const p = perms[u.role];
    const entry = (who: string[]) =>
      ['    {', ...who, '      permissions: {', `        publish: ${rulesBlock(p.publish)}`, `        subscribe: ${rulesBlock(p.subscribe)}`, '      }', '    }'].join('\n');
    return [
      entry([`      user: ${q(u.user)}`, `      password: ${q(u.password)}`]),
      ...(u.nkey !== undefined ? [entry([`      nkey: ${q(u.nkey)}`])] : []),
    ];
  });
  return `authorization {\n  users = [\n${entries.join('\n')}\n  ]\n}\n`;
}

/** The server side of TLS: its certificate and key, and the CA its clients' certificates are checked against. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  /** Require a client certificate signed by `ca` from every client. @default false */
  verify?: boolean;
  /** TLS handshake timeout, s. @default nats-server's (0.5 s in 2.9) */
  timeoutS?: number;
}

/**
 * nats-server config text of a `tls` block. Once present, the server requires TLS of every
 * client (nats-server has no plaintext fallback without `allow_non_tls`, which this never sets).
 */
export function tlsBlock(t: TlsFiles): string {
  const lines = [`  cert_file: ${q(t.cert)}`, `  key_file: ${q(t.key)}`, `  ca_file: ${q(t.ca)}`];
  if (t.verify === true) lines.push('  verify: true');
  if (t.timeoutS !== undefined) {
    if (!(t.timeoutS > 0)) throw new CliError(`TLS timeout must be a positive number of seconds (got ${t.timeoutS})`, ExitCode.Usage);
    lines.push(`  timeout: ${t.timeoutS}`);
  }
  return `tls {\n${lines.join('\n')}\n}\n`;
}
