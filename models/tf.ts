import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import type * as TfModule from '@tensorflow/tfjs';
import { TfBackendUnavailable } from './errors.js';

/** The tfjs API, whichever package supplied it (`@tensorflow/tfjs-node` re-exports tfjs). */
export type Tf = typeof TfModule;

/** Tensor backends reel can run on, by the name tfjs registers them under. */
export type TfBackend = 'tensorflow' | 'wasm';

/**
 * Backends in the order tried: native TensorFlow where `@tensorflow/tfjs-node` is installed
 * (its install downloads libtensorflow, which most machines here cannot), then WebAssembly.
 */
export const DEFAULT_TF_BACKENDS: readonly TfBackend[] = ['tensorflow', 'wasm'];

/** A ready tfjs: its API, the backend that won, and why each backend before it did not. */
export interface TfRuntime {
  readonly tf: Tf;
  readonly backend: TfBackend;
  readonly skipped: ReadonlyArray<{ backend: TfBackend; reason: string }>;
}

// A string the compiler does not resolve: the package is optional and usually absent, and a
// static import of it throws at load time where it is missing.
const TF_NODE_PACKAGE: string = '@tensorflow/tfjs-node';

let loading: Promise<TfRuntime> | undefined;

/**
 * The process's tfjs, loaded once: the first backend of `backends` that starts wins, and a
 * failure falls through to the next with its reason kept in `skipped`. tfjs's engine is one
 * per process, so the first call decides; later calls get the same runtime whatever they ask.
 * Throws `TfBackendUnavailable` when none starts.
 */
export function loadTf(opts: { backends?: readonly TfBackend[] } = {}): Promise<TfRuntime> {
  loading ??= startTf(opts.backends ?? DEFAULT_TF_BACKENDS).catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/** Tries `backends` in order, without `loadTf`'s cache: each call sets the engine's backend again. */
export async function startTf(backends: readonly TfBackend[]): Promise<TfRuntime> {
  const skipped: Array<{ backend: TfBackend; reason: string }> = [];
  for (const backend of backends) {
    try {
      const tf = backend === 'tensorflow' ? await startNative() : await startWasm();
      // setBackend can report success while another registration took the engine: check.
      if (tf.getBackend() !== backend) throw new Error(`tfjs runs on '${tf.getBackend()}' instead`);
      return { tf, backend, skipped };
    } catch (err) {
      skipped.push({ backend, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  throw new TfBackendUnavailable(skipped);
}

async function startNative(): Promise<Tf> {
  const tf = (await import(TF_NODE_PACKAGE)) as Tf;
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend did not initialise');
  await tf.ready();
  return tf;
}

async function startWasm(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // The .wasm binaries sit beside the package's Node entry (its dist folder); resolving it from
  // here finds the same node_modules whether this file runs from dist/ or from source.
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(dirname(entry) + sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return tf;
}
