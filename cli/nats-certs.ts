import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { CliError, ExitCode } from './exit-codes.js';
import { ROLES, type Role, type RoleUser } from './nats-security.js';
import { readCredentialsFile, readNkeySeed, SettingsError } from './settings.js';

/** Files and users `makeSecureAssets` leaves in its directory. */
export interface SecureAssets {
  dir: string;
  /** The local CA's certificate (`--tls-ca`), and its key (kept to issue more certificates). */
  ca: string;
  caKey: string;
  /** The nats-server's certificate and key. */
  server: { cert: string; key: string };
  /** Per role: its client certificate and key (`--tls-cert`, `--tls-key`) and its credentials file (`--credentials`). */
  roles: Record<Role, { cert: string; key: string; credentials: string; nkey: string }>;
  /** Each role's user, for `authorizationBlock`. */
  users: RoleUser[];
}

/** Options of `makeSecureAssets`. */
export interface SecureAssetsOptions {
  /** Names and addresses the server certificate is valid for (IPs as IP SANs). @default ['127.0.0.1', 'localhost'] */
  hosts?: string[];
  /** Validity of the certificates issued, days. @default 825 (the CA: 10 years) */
  validityDays?: number;
}

export const DEFAULT_TLS_HOSTS = ['127.0.0.1', 'localhost'];
export const DEFAULT_CERT_VALIDITY_DAYS = 825;
const CA_VALIDITY_DAYS = 3650;
// A certificate this close to its end is issued again rather than kept.
const RENEW_BEFORE_MS = 7 * 86_400_000;
const STDERR_TAIL_CHARS = 600;

const execFileP = promisify(execFile);

/**
 * Makes (or reuses) a local CA, a server certificate for `hosts`, a client certificate and a
 * credentials file per role under `dir` (mode 0700; keys and credentials 0600). Files already
 * there are kept while they still fit: same CA, certificate not about to expire, server
 * certificate covering `hosts`; so a restart of `reel cluster up --secure` keeps the same
 * passwords and certificates, and clients given these files keep working. Anything that no longer
 * fits is issued again (a new CA reissues every certificate). Needs the `openssl` command
 * (`ensureOpenssl`).
 */
export async function makeSecureAssets(dir: string, opts: SecureAssetsOptions = {}): Promise<SecureAssets> {
  const hosts = opts.hosts ?? DEFAULT_TLS_HOSTS;
  if (hosts.length === 0) throw new CliError('the server certificate needs at least one host name or IP address', ExitCode.Usage);
  for (const h of hosts) if (!/^[A-Za-z0-9.:_-]+$/.test(h)) throw new CliError(`TLS host '${h}' is not a host name or IP address`, ExitCode.Usage);
  const days = opts.validityDays ?? DEFAULT_CERT_VALIDITY_DAYS;
  if (!Number.isInteger(days) || days < 1) throw new CliError(`certificate validity must be a whole number of days, at least 1 (got ${days})`, ExitCode.Usage);
  await ensureOpenssl();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone: keys and passwords live here, so tighten it.
  await chmod(dir, 0o700);
  const at = (f: string) => join(dir, f);
  // Named for this run: two runs on one directory must not remove each other's.
  const cnf = `openssl-${randomBytes(4).toString('hex')}.cnf`;
  await writeFile(at(cnf), opensslConfig(hosts), { mode: 0o600 });
  try {
    const caFresh = !(await keptCert(at('ca.pem'), at('ca-key.pem')));
    if (caFresh) await issueCa(dir, cnf);
    const ca = new X509Certificate(await readFile(at('ca.pem')));
    const leaf = async (name: string, section: string, cn: string, check?: (c: X509Certificate) => boolean) => {
      const cert = at(`${name}.pem`);
      const key = at(`${name}-key.pem`);
      if (caFresh || !(await keptCert(cert, key, ca, check))) await issueLeaf(dir, cnf, name, `${section}_ext`, cn, days);
      // A kept key whose mode was loosened since is put back to its owner only.
      else await chmod(key, 0o600);
      return { cert, key };
    };
    const server = await leaf('server', 'server', 'reel nats server', (c) => hosts.every((h) => (isIP(h) ? c.checkIP(h) : c.checkHost(h)) !== undefined));
    const roles = {} as SecureAssets['roles'];
    const users: RoleUser[] = [];
    for (const role of ROLES) {
      const { cert, key } = await leaf(role, 'client', `reel-${role}`);
      const credentials = at(`${role}.credentials.json`);
      const nkey = at(`${role}.nk`);
      users.push({ role, ...(await roleCredentials(credentials, role)), nkey: await roleNkey(nkey) });
      roles[role] = { cert, key, credentials, nkey };
    }
    await chmod(at('ca-key.pem'), 0o600);
    return { dir, ca: at('ca.pem'), caKey: at('ca-key.pem'), server, roles, users };
  } finally {
    await rm(at(cnf), { force: true });
  }
}

/**
 * reel's own openssl config: the request's distinguished name and the extensions of each kind of
 * certificate, so that nothing depends on the system's openssl.cnf.
 */
function opensslConfig(hosts: readonly string[]): string {
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(', ');
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'CN = reel',
    '[ca_ext]',
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '[server_ext]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    // clientAuth too: a server presents this certificate on the routes it opens to the others.
    'extendedKeyUsage = serverAuth, clientAuth',
    `subjectAltName = ${san}`,
    'authorityKeyIdentifier = keyid',
    '[client_ext]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = clientAuth',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Whether a certificate and key already in place can be kept: both parse, belong together, the
 * certificate is not about to expire, is signed by `ca` (when given) and passes `check`.
 */
async function keptCert(certFile: string, keyFile: string, ca?: X509Certificate, check?: (c: X509Certificate) => boolean): Promise<boolean> {
  if (!(await exists(certFile)) || !(await exists(keyFile))) return false;
  try {
    const cert = new X509Certificate(await readFile(certFile));
    if (!cert.checkPrivateKey(createPrivateKey(await readFile(keyFile)))) return false;
    if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    if (ca !== undefined && !cert.verify(ca.publicKey)) return false;
    return check === undefined || check(cert);
  } catch {
    // Unreadable or not PEM: issue it again.
    return false;
  }
}

/** A fresh P-256 key (fast to make, and what both Go's and Node's TLS take), readable only by its owner. */
async function newKey(dir: string, file: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  await chmod(join(dir, file), 0o600);
}

function serial(): string {
  // Positive and unique enough for one local CA: 63 random bits.
  const b = randomBytes(8);
  b[0]! &= 0x7f;
  return `0x${b.toString('hex')}`;
}

async function issueCa(dir: string, cnf: string): Promise<void> {
  await newKey(dir, 'ca-key.pem');
  await openssl(dir, ['req', '-x509', '-new', '-config', cnf, '-extensions', 'ca_ext', '-key', 'ca-key.pem', '-subj', '/CN=reel local CA', '-days', String(CA_VALIDITY_DAYS), '-set_serial', serial(), '-out', 'ca.pem']);
  await chmod(join(dir, 'ca.pem'), 0o644);
}

async function issueLeaf(dir: string, cnf: string, name: string, section: string, cn: string, days: number): Promise<void> {
  const key = `${name}-key.pem`;
  const csr = `${name}.csr`;
  await newKey(dir, key);
  try {
    await openssl(dir, ['req', '-new', '-config', cnf, '-key', key, '-subj', `/CN=${cn}`, '-out', csr]);
    await openssl(dir, ['x509', '-req', '-in', csr, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-set_serial', serial(), '-days', String(days), '-extfile', cnf, '-extensions', section, '-out', `${name}.pem`]);
  } finally {
    await rm(join(dir, csr), { force: true });
  }
}

/** A role's user and password: the ones in its credentials file when there is one, else new ones written there (0600). */
async function roleCredentials(file: string, role: Role): Promise<{ user: string; password: string }> {
  if (await exists(file)) {
    // Ours: a mode loosened since is put back rather than refused.
    await chmod(file, 0o600);
    let c: ReturnType<typeof readCredentialsFile>;
    try {
      c = readCredentialsFile(file);
    } catch (err) {
      if (err instanceof SettingsError) throw new CliError(`${err.message} (delete it to have a new one made)`);
      throw err;
    }
    if (c.user === undefined || c.password === undefined) throw new CliError(`credentials file ${file} has no user and password (delete it to have a new one made)`);
    return { user: c.user, password: c.password };
  }
  // url-safe: no quoting trouble in the server config, a URL or a shell.
  const made = { user: `reel-${role}`, password: randomBytes(24).toString('base64url') };
  // 'wx': never replace a file another process wrote meanwhile.
  await writeFile(file, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return made;
}

/** The role's user nkey: its seed kept in `file` (made with @nats-io/nkeys when absent), its public key returned. */
async function roleNkey(file: string): Promise<string> {
  if (await exists(file)) {
    await chmod(file, 0o600);
    try {
      return fromSeed(readNkeySeed(file)).getPublicKey();
    } catch (err) {
      if (err instanceof SettingsError) throw new CliError(`${err.message} (delete it to have a new one made)`);
      throw err;
    }
  }
  const user = createUser();
  await writeFile(file, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600, flag: 'wx' });
  return user.getPublicKey();
}

function tail(s: string): string {
  const t = s.trim();
  return t.length > STDERR_TAIL_CHARS ? `…${t.slice(-STDERR_TAIL_CHARS)}` : t;
}

/** Runs openssl in `dir` (file names relative to it); a failure names the command and ends with its stderr. */
async function openssl(dir: string, args: string[]): Promise<string> {
  try {
    return (await execFileP('openssl', args, { cwd: dir })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new CliError(`'openssl ${args.join(' ')}' failed in ${dir}: ${tail(e.stderr || e.message)}`, ExitCode.Failed, 'OpensslFailed');
  }
}

async function opensslVersion(): Promise<string | undefined> {
  try {
    return (await execFileP('openssl', ['version'])).stdout.trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const e = err as Error & { stderr?: string };
    throw new CliError(`'openssl version' failed: ${tail(e.stderr || e.message)}`, ExitCode.Failed, 'OpensslFailed');
  }
}

async function aptGet(args: string[]): Promise<void> {
  try {
    await execFileP('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new CliError(`openssl is missing and 'apt-get ${args.join(' ')}' failed: ${tail(e.stderr || e.message)}`, ExitCode.Failed, 'MissingOpenssl');
  }
}

/**
 * Makes sure the `openssl` command is there, and returns its version line. When it is missing it
 * is installed from the OS packages, if this runs as root (`apt-get install -y openssl`, after an
 * `apt-get update` if the package lists are stale); otherwise the error says how to install it.
 */
export async function ensureOpenssl(): Promise<string> {
  const v = await opensslVersion();
  if (v !== undefined) return v;
  if (process.getuid?.() !== 0) {
    throw new CliError("the 'openssl' command is needed to make certificates and is not installed: install it (Debian/Ubuntu: 'sudo apt-get install -y openssl') and run this again", ExitCode.Failed, 'MissingOpenssl');
  }
  try {
    await aptGet(['install', '-y', 'openssl']);
  } catch {
    // Most often the package lists are missing or stale (a fresh container): refresh them once.
    await aptGet(['update']);
    await aptGet(['install', '-y', 'openssl']);
  }
  const after = await opensslVersion();
  if (after === undefined) throw new CliError("'apt-get install -y openssl' succeeded but there is still no 'openssl' command on PATH", ExitCode.Failed, 'MissingOpenssl');
  return after;
}
