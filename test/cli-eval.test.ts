import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../models/index.js';
import { builtCli, runReel } from './harness/processes.js';

const cli = builtCli();
const ml100k = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'ml-100k');
const dir = mkdtempSync(join(tmpdir(), 'reel-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reel = (args: string[]) => runReel(args);

/** A small tab-separated ratings file from a planted rank-2 model: quick to train and tune on. */
function plantedFile(name: string, seed: number, n: number, rating?: number): string {
  const rng = new Rng(seed);
  const users = 120;
  const items = 80;
  const rowOf = (i: number, salt: number) => [Math.sin(i * 1.3 + salt), Math.cos(i * 0.7 + salt)];
  const lines: string[] = [];
  for (let j = 0; j < n; j++) {
    const u = rng.below(users);
    const i = rng.below(items);
    const [a, b] = rowOf(u, 1);
    const [c, d] = rowOf(i, 2);
    const r = rating ?? Math.max(1, Math.min(5, Math.round(3 + 1.5 * (a! * c! + b! * d!) + 0.3 * rng.normal())));
    lines.push(`${u + 1}\t${i + 1}\t${r}\t${880_000_000 + j}`);
  }
  const f = join(dir, name);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

interface EvalJson {
  model: string;
  rmse: number;
  mae: number;
  seed: number;
  kernel: string;
  hyperparameters: {
    factors: number; epochs: number; lr: number; lr_decay: number; reg_factor: number; reg_bias: number; init_std: number;
    reg_user: number; reg_item: number; reg_user_bias: number; reg_item_bias: number; reg_y?: number;
  };
  tuning: null | { validation_fraction: number; validation_rmse: number; trials: number };
  train: { ratings: number; fingerprint: string };
  test: { ratings: number; unseen_ratings: number };
}

describe('reel eval', () => {
  it('cli - eval --model mf trains on ml-100k u1.base with the defaults and predicts u1.test with RMSE below 1', async () => {
    const r = await reel(['eval', '--model', 'mf', '--train', join(ml100k, 'u1.base'), '--test', join(ml100k, 'u1.test'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as EvalJson;
    expect(j.model).toBe('mf');
    expect(Number.isFinite(j.rmse)).toBe(true);
    expect(j.rmse).toBeLessThan(1.0);
    expect(j.mae).toBeLessThan(j.rmse);
    expect(j.train.ratings).toBe(80_000);
    expect(j.test.ratings).toBe(20_000);
    expect(j.train.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(j.tuning).toBeNull();
    expect(j.seed).toBe(1);
    expect(Object.keys(j.hyperparameters).sort()).toEqual(['epochs', 'factors', 'init_std', 'lr', 'lr_decay', 'reg_bias', 'reg_factor', 'reg_item', 'reg_item_bias', 'reg_user', 'reg_user_bias']);
    // Progress: one line per epoch on stderr, the last one the final epoch.
    const epochs = j.hyperparameters.epochs;
    expect(r.stderr).toMatch(new RegExp(`epoch ${epochs}/${epochs}: train RMSE \\d\\.\\d{4}`));
  });

  it('cli - eval prints RMSE and MAE, and takes the model flags and the seed', async () => {
    const train = plantedFile('a.base', 1, 4000);
    const test = plantedFile('a.test', 2, 800);
    const args = ['eval', '--model', 'mf', '--train', train, '--test', test, '--factors', '4', '--epochs', '5', '--lr', '0.02', '--reg', '0.05', '--reg-bias', '0.02', '--seed', '7'];
    const text = await reel(args);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^RMSE \d\.\d{4}$/m);
    expect(text.stdout).toMatch(/^MAE {2}\d\.\d{4}$/m);
    const j = JSON.parse((await reel([...args, '--json'])).stdout) as EvalJson;
    expect(j.seed).toBe(7);
    expect(j.hyperparameters).toMatchObject({ factors: 4, epochs: 5, lr: 0.02, reg_factor: 0.05, reg_bias: 0.02 });
    expect(text.stdout).toContain(`RMSE ${j.rmse.toFixed(4)}`);
    // The same seed gives the same figure; another seed another.
    expect((JSON.parse((await reel([...args, '--json'])).stdout) as EvalJson).rmse).toBe(j.rmse);
    expect((JSON.parse((await reel([...args.slice(0, -1), '8', '--json'])).stdout) as EvalJson).rmse).not.toBe(j.rmse);
  });

  it('cli - eval --tune chooses on a validation part of the train file: the test file does not change the choice', async () => {
    const train = plantedFile('t.base', 3, 4000);
    const test = plantedFile('t.test', 4, 800);
    const ones = plantedFile('ones.test', 4, 800, 1); // the same pairs, every rating 1
    const args = (t: string) => ['eval', '--model', 'mf', '--train', train, '--test', t, '--tune', '--factors', '4', '--epochs', '12', '--json'];
    const a = await reel(args(test));
    expect(a.code, a.stderr).toBe(0);
    const b = await reel(args(ones));
    const ja = JSON.parse(a.stdout) as EvalJson;
    const jb = JSON.parse(b.stdout) as EvalJson;
    expect(ja.tuning).toMatchObject({ validation_fraction: 0.1, trials: 6 }); // lr × reg; --factors was given
    expect(ja.hyperparameters.factors).toBe(4);
    expect(jb.hyperparameters).toEqual(ja.hyperparameters);
    expect(jb.tuning).toEqual(ja.tuning);
    expect(jb.rmse).not.toBe(ja.rmse);
    expect(a.stderr).toMatch(/valid RMSE \d\.\d{4}/);
  });

  it('cli - eval counts test ratings of users or items unseen in training (predicted from biases and the mean)', async () => {
    const train = join(dir, 'seen.base');
    writeFileSync(train, '1\t1\t5\t1\n1\t2\t3\t2\n2\t1\t4\t3\n2\t2\t2\t4\n');
    const test = join(dir, 'unseen.test');
    writeFileSync(test, '1\t1\t5\t5\n3\t1\t4\t6\n1\t9\t3\t7\n');
    const r = await reel(['eval', '--model', 'mf', '--train', train, '--test', test, '--factors', '2', '--epochs', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as EvalJson).test).toMatchObject({ ratings: 3, unseen_ratings: 2 });
  });

  it.each([
    [['--model', 'nope'], "unknown model 'nope'"],
    [['--model', 'als'], 'als is a ranking model'],
    [['--model', 'mf', '--factors', '-3'], '--factors'],
    [['--model', 'mf', '--factors', '0'], '--factors'],
    [['--model', 'mf', '--epochs', '0'], '--epochs'],
    [['--model', 'mf', '--lr', '0'], '--lr'],
    [['--model', 'mf', '--reg', '-0.1'], '--reg'],
    [['--model', 'mf', '--seed', '1.5'], '--seed'],
    [['--model', 'mf', '--reg-y', '0.1'], '--reg-y applies to --model svdpp only'],
    [['--model', 'svdpp', '--reg-y', '-1'], '--reg-y'],
    [['--model', 'svdpp', '--reg-item', 'x'], '--reg-item'],
    [['--model', 'svdpp', '--factors', '0'], '--factors'],
    [['--model', 'svdpp', '--epochs', '0'], '--epochs'],
  ])('cli - eval %j is a usage error naming the flag, exit 2', async (flags, named) => {
    const u1 = join(ml100k, 'u1.base');
    const r = await reel(['eval', '--train', u1, '--test', u1, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(named);
  });

  it('cli - eval --kernel ts|wasm: the WebAssembly kernel is the default and reaches the TypeScript reference figure; another name exits 2', async () => {
    const train = plantedFile('k.base', 3, 4000);
    const test = plantedFile('k.test', 4, 800);
    const args = ['eval', '--model', 'mf', '--train', train, '--test', test, '--factors', '6', '--epochs', '8', '--json'];
    const byDefault = JSON.parse((await reel(args)).stdout) as EvalJson;
    const wasm = JSON.parse((await reel([...args, '--kernel', 'wasm'])).stdout) as EvalJson;
    const ts = JSON.parse((await reel([...args, '--kernel', 'ts'])).stdout) as EvalJson;
    expect(byDefault.kernel).toBe('wasm');
    expect(wasm.kernel).toBe('wasm');
    expect(ts.kernel).toBe('ts');
    expect(byDefault.rmse).toBe(wasm.rmse);
    // Float kernels agree within rounding, not bit for bit.
    expect(Math.abs(wasm.rmse - ts.rmse)).toBeLessThan(1e-3);
    expect(Math.abs(wasm.mae - ts.mae)).toBeLessThan(1e-3);
    const text = await reel([...args.slice(0, -1), '--kernel', 'ts']);
    expect(text.stdout).toContain('kernel ts');

    const bad = await reel([...args.slice(0, -1), '--kernel', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kernel');
    expect(bad.stderr).toContain("unknown kernel 'gpu'; known: wasm, ts");
  });

  it('cli - eval without --model, or with a missing or unreadable file, exits 2 naming it; --json gives a JSON error', async () => {
    const u1 = join(ml100k, 'u1.base');
    const noModel = await reel(['eval', '--train', u1, '--test', u1]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('--model');

    const missing = await reel(['eval', '--model', 'mf', '--train', '/nonexistent/u1.base', '--test', u1, '--json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--train /nonexistent/u1.base: no such file');
    expect(JSON.parse(missing.stdout)).toEqual({ error: { code: 'Usage', message: expect.stringContaining('--train /nonexistent/u1.base'), exitCode: 2 } });

    const notRatings = await reel(['eval', '--model', 'mf', '--train', u1, '--test', join(ml100k, 'u.item'), '--factors', '2', '--epochs', '1']);
    expect(notRatings.code).toBe(2);
    expect(notRatings.stderr).toContain(`${join(ml100k, 'u.item')}:1: not a ratings file`);
  });

  it('cli - eval --model svdpp trains SVD++ with its own defaults and regularisations, both kernels agreeing', async () => {
    const train = plantedFile('s.base', 5, 4000);
    const test = plantedFile('s.test', 6, 800);
    const args = ['eval', '--model', 'svdpp', '--train', train, '--test', test, '--factors', '6', '--epochs', '8', '--reg-y', '0.03', '--reg-item', '0.07', '--json'];
    const r = await reel(args);
    expect(r.code, r.stderr).toBe(0);
    const wasm = JSON.parse(r.stdout) as EvalJson;
    expect(wasm.model).toBe('svdpp');
    expect(wasm.kernel).toBe('wasm');
    expect(wasm.hyperparameters).toMatchObject({ factors: 6, epochs: 8, reg_y: 0.03, reg_item: 0.07, lr: 0.04, reg_factor: 0.1, reg_user: 0.1 });
    expect(wasm.rmse).toBeLessThan(1.2);
    expect(r.stderr).toMatch(/epoch 8\/8: train RMSE \d\.\d{4}/);
    const ts = JSON.parse((await reel([...args, '--kernel', 'ts'])).stdout) as EvalJson;
    expect(Math.abs(wasm.rmse - ts.rmse)).toBeLessThan(1e-3);
    const text = await reel(args.slice(0, -1));
    expect(text.stdout).toContain('reg-y 0.03');
    expect(text.stdout).toMatch(/^RMSE \d\.\d{4}$/m);
  });

  it('cli - eval --model svdpp --tune searches reg and reg-y on validation only: the test file does not change the choice', async () => {
    const train = plantedFile('st.base', 3, 4000);
    const test = plantedFile('st.test', 4, 800);
    const ones = plantedFile('st-ones.test', 4, 800, 1);
    const args = (t: string) => ['eval', '--model', 'svdpp', '--train', train, '--test', t, '--tune', '--factors', '4', '--epochs', '6', '--json'];
    const a = await reel(args(test));
    expect(a.code, a.stderr).toBe(0);
    const ja = JSON.parse(a.stdout) as EvalJson;
    const jb = JSON.parse((await reel(args(ones))).stdout) as EvalJson;
    expect(ja.tuning).toMatchObject({ validation_fraction: 0.1, trials: 6 }); // reg × reg-y; --factors was given
    expect(jb.hyperparameters).toEqual(ja.hyperparameters);
    expect(jb.rmse).not.toBe(ja.rmse);
    expect(a.stderr).toMatch(/reg-y \d/);
  });

  it('cli - eval --help names the model flags, their defaults and what unseen ids predict', async () => {
    const help = (await reel(['eval', '--help'])).stdout.replace(/\s+/g, ' ');
    for (const flag of ['--model', '--train', '--test', '--factors', '--epochs', '--lr', '--reg', '--reg-user', '--reg-item', '--reg-user-bias', '--reg-item-bias', '--reg-y', '--seed', '--tune', '--json']) expect(help).toContain(flag);
    expect(help).toContain('svdpp');
    expect(help).toContain('(default: 128)');
    expect(help).toContain('unseen in training');
    expect(help).toContain('global mean');
  });
});
