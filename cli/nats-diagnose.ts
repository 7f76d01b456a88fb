import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isRequestTimeout } from '../cluster/index.js';
import type { Settings } from './settings.js';

/** What a server's INFO line says a client needs. */
export interface ServerNeeds {
  tlsRequired: boolean;
  tlsVerify: boolean;
  authRequired: boolean;
}

const INFO_PEEK_TIMEOUT_MS = 2_000;

/** Host and port of a NATS URL (`nats://h:p`, `tls://h:p`, `h:p`; port 4222 unless named). */
function hostPort(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url.includes('://') ? url : `nats://${url}`);
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 4222 : Number(u.port) };
  } catch {
    return undefined;
  }
}

/**
 * Reads the INFO line a NATS server sends first to every connection (before any TLS), for what
 * it requires; undefined when the server cannot be reached or does not answer in time. With
 * `tlsCa`, a server that requires TLS but no client certificate gets a TLS handshake before the
 * close (unchecked: only INFO is read), so that it does not log a failed one for each look.
 */
export function peekServerNeeds(url: string, opts: { tlsCa?: string; timeoutMs?: number } = {}): Promise<ServerNeeds | undefined> {
  const hp = hostPort(url);
  if (hp === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const sock = tcpConnect(hp.port, hp.host);
    let needs: ServerNeeds | undefined;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(needs);
    };
    const timer = setTimeout(done, opts.timeoutMs ?? INFO_PEEK_TIMEOUT_MS);
    sock.on('error', done);
    sock.on('close', done);
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      sock.removeAllListeners('data');
      const m = /^INFO\s+(\{.*\})\s*$/.exec(buf.slice(0, end));
      try {
        const info = m ? (JSON.parse(m[1]!) as Record<string, unknown>) : undefined;
        needs = info && { tlsRequired: info.tls_required === true, tlsVerify: info.tls_verify === true, authRequired: info.auth_required === true };
      } catch {
        return done();
      }
      if (needs?.tlsRequired !== true || needs.tlsVerify || opts.tlsCa === undefined) return done();
      try {
        const t = tlsConnect({ socket: sock, host: hp.host, ca: readFileSync(opts.tlsCa), rejectUnauthorized: false });
        // end(), not destroy(): the client's last handshake message must reach the server.
        t.once('secureConnect', () => t.end());
        t.once('error', done);
        t.once('close', done);
      } catch {
        done();
      }
    });
  });
}

// Node's codes for a server certificate the client's CAs do not vouch for (or that does not fit).
const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why a server that verifies clients would refuse the `--tls-cert` certificate, as far as this machine can tell. */
function clientCertProblem(s: Settings, opts: { checkCa: boolean }): string | undefined {
  try {
    const cert = new X509Certificate(readFileSync(s.tlsCert!));
    const now = Date.now();
    if (Date.parse(cert.validTo) < now) return `it expired on ${new Date(cert.validTo).toISOString()}`;
    if (Date.parse(cert.validFrom) > now) return `it is not valid before ${new Date(cert.validFrom).toISOString()}`;
    // Only a hint: the server may trust another CA for clients than the one that signed its own certificate.
    if (opts.checkCa && s.tlsCa !== undefined && !cert.verify(new X509Certificate(readFileSync(s.tlsCa)).publicKey)) return `it is not signed by the CA in --tls-ca ${s.tlsCa}`;
  } catch (err) {
    return `it cannot be read as a PEM certificate (${(err as Error).message})`;
  }
  return undefined;
}

/** The INFO of the first of `s`'s servers that answers (one cluster's servers are configured alike). */
async function firstServerNeeds(s: Settings): Promise<{ url: string; needs: ServerNeeds } | undefined> {
  for (const url of s.nats.split(',').map((x) => x.trim())) {
    const needs = await peekServerNeeds(url, s.tlsCa !== undefined ? { tlsCa: s.tlsCa } : {});
    if (needs !== undefined) return { url, needs };
  }
  return undefined;
}

/**
 * What a TLS client lacks for a server that verifies client certificates, checked before
 * connecting: no `--tls-cert`, or one that is out of its dates. nats.js would only time out on
 * these (after 20 s): the server drops the connection after the TLS 1.3 handshake, and the client
 * waits for its first PONG. The server is asked (one INFO read) only by a client with `--tls-ca`
 * and no certificate, or with a certificate out of its dates; a client with a good one is not delayed.
 */
export async function lackingBeforeConnect(s: Settings): Promise<string | undefined> {
  if (s.tlsCert !== undefined) {
    const why = clientCertProblem(s, { checkCa: false });
    if (why === undefined) return undefined;
    const found = await firstServerNeeds(s);
    return found?.needs.tlsVerify === true ? `the server at ${found.url} verifies client certificates and would refuse --tls-cert ${s.tlsCert}: ${why}` : undefined;
  }
  if (s.tlsCa === undefined) return undefined;
  const found = await firstServerNeeds(s);
  return found?.needs.tlsVerify === true ? `the server at ${found.url} requires a client certificate: pass --tls-cert FILE --tls-key FILE, signed by the CA the server trusts` : undefined;
}

/**
 * What a client lacks when its connection to the NATS servers of `s` failed with `err`, as a
 * sentence naming the flags to pass; undefined when the failure is not about credentials or TLS.
 */
export async function explainConnectFailure(err: unknown, s: Settings): Promise<string | undefined> {
  const e = err as Error & { name?: string };
  const message = e?.message ?? '';
  const code = errorCode(err);
  const first = s.nats.split(',')[0]!.trim();
  if (e?.name === 'AuthorizationError' || /authorization violation/i.test(message)) {
    // Which credentials went out (flags win over a --credentials file).
    const sent =
      s.user !== undefined || s.password !== undefined ? ' of --user/--password' : s.token !== undefined ? ' of --token' : s.credentials !== undefined ? ` from --credentials ${s.credentials}` : s.creds !== undefined ? ` from --creds ${s.creds}` : ' (none were given)';
    return `the server at ${first} refused the credentials${sent}: pass --credentials FILE or --user/--password`;
  }
  if (/does not support 'tls'/.test(message)) return `the server at ${first} does not use TLS, yet --tls-ca or --tls-cert was given: drop them, or enable TLS on the server`;
  if (code !== undefined && SERVER_CERT_CODES.has(code)) {
    // Without --tls-ca, nats.js upgrades to TLS anyway and checks the server against the system's CAs.
    if (s.tlsCa === undefined) return `the server at ${first} requires TLS: pass --tls-ca FILE (and --tls-cert/--tls-key when it verifies clients)`;
    return `the server at ${first} presented a certificate that --tls-ca ${s.tlsCa} does not vouch for (${message}): pass the CA certificate that signed the server's`;
  }
  // A client certificate the server refused shows here only as a timeout (see lackingBeforeConnect).
  if (!isRequestTimeout(e) || s.tlsCert === undefined) return undefined;
  const found = await firstServerNeeds(s);
  if (found === undefined || !found.needs.tlsVerify) return undefined;
  const why = clientCertProblem(s, { checkCa: true });
  return `the server at ${found.url} did not accept the client certificate --tls-cert ${s.tlsCert}${why ? `: ${why}` : ' (the server log says why: another CA, expired, or not for client use)'}`;
}
