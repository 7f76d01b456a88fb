import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings, SettingsError } from './settings.js';

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
});
