import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TF_BACKENDS, loadTf, startTf } from './tf.js';

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

describe('tf', () => {
  it('tf - asked for wasm, tfjs runs on the WebAssembly backend and computes; the runtime is loaded once', async () => {
    const rt = await loadTf({ backends: ['wasm'] });
    expect(rt.backend).toBe('wasm');
    expect(rt.tf.getBackend()).toBe('wasm');
    const y = rt.tf.tidy(() => rt.tf.matMul(rt.tf.tensor2d([1, 2, 3, 4], [2, 2]), rt.tf.tensor2d([1, 0, 0, 1], [2, 2])).dataSync());
    expect(Array.from(y)).toEqual([1, 2, 3, 4]);
    expect(await loadTf()).toBe(rt);
  });

  it('tf - without @tensorflow/tfjs-node (these machines), the native backend is skipped with its reason and wasm takes over', async () => {
    const native = installed('@tensorflow/tfjs-node');
    const rt = await startTf(DEFAULT_TF_BACKENDS);
    expect(rt.backend).toBe(native ? 'tensorflow' : 'wasm');
    if (!native) expect(rt.skipped).toEqual([{ backend: 'tensorflow', reason: expect.stringMatching(/tfjs-node/) }]);
    expect(rt.tf.getBackend()).toBe(rt.backend);
  });
});
