import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionOptions, resolveSettings, SettingsError } from './settings.js';

describe('settings', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'reel-settings-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  mkdirSync(join(cwd, '.reel'));
  writeFileSync(join(cwd, '.reel', 'cluster.json'), JSON.stringify({ nats: 'nats://127.0.0.1:4333', prefix: 'dev' }));
  const config = join(cwd, 'reel.json');
  writeFileSync(config, JSON.stringify({ nats: 'nats://cfg:4222' }));
  const pick = (s: ReturnType<typeof resolveSettings>) => ({ nats: s.nats, prefix: s.prefix, natsFrom: s.natsFrom });

  it('settings - the NATS URL comes from the flag, then the environment, then --config, then .reel/cluster.json, then the default', () => {
    expect(pick(resolveSettings({ nats: 'nats://flag:1', config }, { REEL_NATS_URL: 'nats://env:1' }, cwd))).toEqual({ nats: 'nats://flag:1', prefix: 'reel', natsFrom: '--nats' });
    expect(pick(resolveSettings({ config }, { REEL_NATS_URL: 'nats://env:1' }, cwd))).toEqual({ nats: 'nats://env:1', prefix: 'reel', natsFrom: 'REEL_NATS_URL' });
    expect(pick(resolveSettings({ config }, {}, cwd))).toEqual({ nats: 'nats://cfg:4222', prefix: 'reel', natsFrom: `config file ${config}` });
    // cluster.json names a cluster: its URL and, unless set otherwise, its prefix.
    expect(pick(resolveSettings({}, {}, cwd))).toEqual({ nats: 'nats://127.0.0.1:4333', prefix: 'dev', natsFrom: join('.reel', 'cluster.json') });
    expect(pick(resolveSettings({ prefix: 'other' }, {}, cwd))).toEqual({ nats: 'nats://127.0.0.1:4333', prefix: 'other', natsFrom: join('.reel', 'cluster.json') });
    const elsewhere = mkdtempSync(join(tmpdir(), 'reel-settings-none-'));
    try {
      expect(pick(resolveSettings({}, {}, elsewhere))).toEqual({ nats: 'nats://127.0.0.1:4222', prefix: 'reel', natsFrom: 'default' });
      // REEL_DIR names the folder of `reel cluster up` (its --dir), wherever the command runs.
      expect(pick(resolveSettings({}, { REEL_DIR: join(cwd, '.reel') }, elsewhere))).toEqual({ nats: 'nats://127.0.0.1:4333', prefix: 'dev', natsFrom: join(cwd, '.reel', 'cluster.json') });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('settings - without the cluster file (reel start) only a flag, the environment or --config names the NATS URL', () => {
    const noFile = { clusterFile: false };
    expect(pick(resolveSettings({}, {}, cwd, noFile))).toEqual({ nats: 'nats://127.0.0.1:4222', prefix: 'reel', natsFrom: 'default' });
    expect(pick(resolveSettings({}, { REEL_NATS_URL: 'nats://env:1' }, cwd, noFile))).toEqual({ nats: 'nats://env:1', prefix: 'reel', natsFrom: 'REEL_NATS_URL' });
    expect(pick(resolveSettings({ config }, {}, cwd, noFile))).toEqual({ nats: 'nats://cfg:4222', prefix: 'reel', natsFrom: `config file ${config}` });
  });

  it('settings - a broken .reel/cluster.json is a settings error naming it', () => {
    const broken = mkdtempSync(join(tmpdir(), 'reel-settings-broken-'));
    try {
      mkdirSync(join(broken, '.reel'));
      writeFileSync(join(broken, '.reel', 'cluster.json'), '{"nats": ');
      expect(() => resolveSettings({}, {}, broken)).toThrow(SettingsError);
      expect(() => resolveSettings({}, {}, broken)).toThrow(/^\.reel\/cluster\.json: /);
      writeFileSync(join(broken, '.reel', 'cluster.json'), '{"nats": 4222}');
      expect(() => resolveSettings({}, {}, broken)).toThrow(/\.reel\/cluster\.json: expected \{"nats": URL, "prefix": NAME\}/);
      // A URL named otherwise never reads it.
      expect(resolveSettings({ nats: 'nats://flag:1' }, {}, broken).nats).toBe('nats://flag:1');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  describe('credentials and TLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reel-settings-creds-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string, mode = 0o600) => {
      const f = join(dir, name);
      writeFileSync(f, content);
      // writeFileSync leaves an existing file's mode alone, and the umask trims a new one's.
      chmodSync(f, mode);
      return f;
    };
    const base = { nats: 'nats://a:1,nats://b:2', prefix: 'reel' };
    const userFile = file('user.json', JSON.stringify({ user: 'reel-node', password: 'pw-from-file' }));

    it('settings - --credentials, --tls-cert and --tls-key come from flags or REEL_NATS_CREDENTIALS, REEL_NATS_TLS_CERT and REEL_NATS_TLS_KEY', () => {
      const env = { REEL_NATS_CREDENTIALS: '/env/creds.json', REEL_NATS_TLS_CERT: '/env/cert.pem', REEL_NATS_TLS_KEY: '/env/key.pem' };
      const fromEnv = resolveSettings({ nats: 'nats://x:1' }, env, cwd);
      expect({ credentials: fromEnv.credentials, tlsCert: fromEnv.tlsCert, tlsKey: fromEnv.tlsKey }).toEqual({ credentials: '/env/creds.json', tlsCert: '/env/cert.pem', tlsKey: '/env/key.pem' });
      const fromFlags = resolveSettings({ nats: 'nats://x:1', credentials: '/f/c.json', tlsCert: '/f/c.pem', tlsKey: '/f/k.pem' }, env, cwd);
      expect({ credentials: fromFlags.credentials, tlsCert: fromFlags.tlsCert, tlsKey: fromFlags.tlsKey }).toEqual({ credentials: '/f/c.json', tlsCert: '/f/c.pem', tlsKey: '/f/k.pem' });
    });

    it('settings - a credentials file gives the user and password (or token); --user/--password given explicitly win over it', () => {
      expect(connectionOptions({ ...base, credentials: userFile }, 'n1')).toMatchObject({ servers: ['nats://a:1', 'nats://b:2'], user: 'reel-node', pass: 'pw-from-file' });
      const explicit = connectionOptions({ ...base, credentials: userFile, user: 'admin', password: 'pw-from-flag' }, 'n1');
      expect({ user: explicit.user, pass: explicit.pass }).toEqual({ user: 'admin', pass: 'pw-from-flag' });
      const token = connectionOptions({ ...base, credentials: file('token.json', JSON.stringify({ token: 's3cret' })) }, 'n1');
      expect({ token: token.token, user: token.user, pass: token.pass }).toEqual({ token: 's3cret', user: undefined, pass: undefined });
    });

    it('settings - a credentials file that is missing, not {user, password} or {token}, or readable by others is a settings error naming it', () => {
      const missing = join(dir, 'nope.json');
      expect(() => connectionOptions({ ...base, credentials: missing }, 'n1')).toThrow(new RegExp(`^credentials file ${missing}: .*ENOENT`));
      for (const [name, content] of [['half.json', '{"user": "a"}'], ['both.json', '{"user": "a", "password": "b", "token": "c"}'], ['list.json', '["a"]'], ['bad.json', '{"user": ']] as const) {
        const f = file(name, content);
        expect(() => connectionOptions({ ...base, credentials: f }, 'n1'), name).toThrow(SettingsError);
        expect(() => connectionOptions({ ...base, credentials: f }, 'n1'), name).toThrow(`credentials file ${f}: expected {"user": NAME, "password": SECRET} or {"token": SECRET}`);
      }
      for (const mode of [0o644, 0o640, 0o604]) {
        const open = file(`open-${mode.toString(8)}.json`, JSON.stringify({ user: 'u', password: 'p' }), mode);
        expect(() => connectionOptions({ ...base, credentials: open }, 'n1')).toThrow(`credentials file ${open} is readable or writable by group or others (mode 0${mode.toString(8)}): it holds a secret, run 'chmod 600 ${open}'`);
      }
    });

    it('settings - TLS: the CA alone, or with a client certificate and key; one of the pair without the other is a settings error naming both flags', () => {
      expect(connectionOptions({ ...base, tlsCa: '/ca.pem' }, 'n1').tls).toEqual({ caFile: '/ca.pem' });
      expect(connectionOptions({ ...base, tlsCa: '/ca.pem', tlsCert: '/c.pem', tlsKey: '/k.pem' }, 'n1').tls).toEqual({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
      expect(connectionOptions(base, 'n1').tls).toBeUndefined();
      const both = /a client certificate needs both --tls-cert FILE and --tls-key FILE/;
      expect(() => connectionOptions({ ...base, tlsCa: '/ca.pem', tlsCert: '/c.pem' }, 'n1')).toThrow(SettingsError);
      expect(() => connectionOptions({ ...base, tlsCert: '/c.pem' }, 'n1')).toThrow(both);
      expect(() => connectionOptions({ ...base, tlsKey: '/k.pem' }, 'n1')).toThrow(/^--tls-key was given without --tls-cert/);
    });

    it('settings - --nkey signs in with a user seed from a file only its owner reads; it is one way to authenticate, so a password, token or .creds beside it is a settings error', () => {
      const seed = file('user.nk', `${new TextDecoder().decode(createUser().getSeed())}\n`);
      expect(connectionOptions({ ...base, nkey: seed }, 'n1').authenticator).toBeTypeOf('function');
      expect(() => connectionOptions({ ...base, nkey: seed, credentials: userFile }, 'n1')).toThrow('--nkey and --credentials were both given');
      expect(() => connectionOptions({ ...base, nkey: seed, user: 'u', password: 'p' }, 'n1')).toThrow('--nkey and --user/--token were both given');
      expect(() => connectionOptions({ ...base, nkey: seed, creds: '/x.creds' }, 'n1')).toThrow('--nkey and --creds were both given');
      const notSeed = file('bad.nk', 'UBP52AT5G2ANKLF7HGHVLBNF2K6YNHCVWA6EYSQX2RIO4ESEFHXFDSG6\n');
      expect(() => connectionOptions({ ...base, nkey: notSeed }, 'n1')).toThrow(`nkey seed file ${notSeed}: expected a user seed`);
      const loose = file('loose.nk', readFileSync(seed, 'utf8'), 0o640);
      expect(() => connectionOptions({ ...base, nkey: loose }, 'n1')).toThrow(`nkey seed file ${loose} is readable or writable by group or others (mode 0640)`);
    });
  });
});
