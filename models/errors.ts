/**
 * Errors of the numeric core. `models/` imports nothing from `runtime/` (dependencies point
 * one way), so it cannot throw the runtime's `InvalidArgument`; this class carries the same
 * stable code, so that a caller mapping codes (the CLI, an actor answering a training
 * request) treats both alike.
 */
export class ModelArgumentError extends Error {
  readonly code = 'InvalidArgument' as const;
  constructor(
    message: string,
    /** The offending fields (`factors`, `epochs`, …), for messages that name a flag. */
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'ModelArgumentError';
  }
}

/**
 * Training blew up (a loss that is not finite), almost always a learning rate too high for
 * the data's scale. A failed run, not bad usage: the same flags may work on other data.
 */
export class TrainingDiverged extends Error {
  readonly code = 'TrainingDiverged' as const;
  constructor(
    readonly epoch: number,
    readonly lr: number,
  ) {
    super(`training diverged in epoch ${epoch} (the loss is no longer finite): lower the learning rate (${lr})`);
    this.name = 'TrainingDiverged';
  }
}

/**
 * The WebAssembly kernel's file is not there: `npm run build` compiles it (with
 * AssemblyScript) next to the compiled loader, and a plain `tsc` does not.
 */
export class WasmKernelMissing extends Error {
  readonly code = 'WasmKernelMissing' as const;
  constructor(readonly file: string) {
    super(`the WebAssembly MF kernel ${file} is missing: run \`npm run build\` to compile it`);
    this.name = 'WasmKernelMissing';
  }
}

/**
 * No tensor backend could start: neither `@tensorflow/tfjs-node` (optional, rarely installed)
 * nor tfjs with its WebAssembly backend. `reasons` gives each backend's failure, in the order tried.
 */
export class TfBackendUnavailable extends Error {
  readonly code = 'TfBackendUnavailable' as const;
  constructor(readonly reasons: ReadonlyArray<{ backend: string; reason: string }>) {
    super(`no tensor backend could start: ${reasons.map((r) => `${r.backend}: ${r.reason}`).join('; ')}`);
    this.name = 'TfBackendUnavailable';
  }
}

/**
 * A model produced an embedding that is not finite for one title (a diverged encoder, a
 * degenerate mix): refused rather than written, because a NaN row would poison every ranking
 * it enters.
 */
export class NonFiniteEmbedding extends Error {
  readonly code = 'NonFiniteEmbedding' as const;
  constructor(readonly title: string) {
    super(`the embedding computed for title '${title}' is not finite`);
    this.name = 'NonFiniteEmbedding';
  }
}
