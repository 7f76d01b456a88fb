import { bprAt, type BprEpochRunner, type BprKernel, type BprModel, type BprStep } from './bpr.js';
import type { BprTriples } from './bpr-sampler.js';
import { ModelArgumentError } from './errors.js';
import { packedRowsAt, rowsIn, rowsOut, type RowsAt } from './mf-rows.js';
import { WasmArena, type KernelBase } from './wasm-arena.js';

/**
 * BPR-MF's SGD in WebAssembly SIMD (`models/wasm/bpr.as.ts`): same contract as `bprEpoch` of
 * `bpr.ts`, which stays the reference, over rows (factors, then a bias: `mf-rows.ts`) trained
 * in place. The sampler stays in TypeScript: each call copies in its triples (three u32 per
 * triple) and the kernel applies them.
 */
interface BprExports extends KernelBase {
  bprEpoch(
    userRows: number, q: number, stride: number, us: number, is: number, js: number,
    n: number, users: number, items: number, k: number,
    lr: number, reg: number, regBias: number,
  ): number;
}

/** One BPR run over rows in place: `epoch` applies triples, `release` gives back its memory. */
export interface BprRowsRunner {
  epoch(t: BprTriples, step: BprStep): number;
  release(): void;
}

/** The kernel over the rows at `at` in `arena`. */
export class WasmBprRows implements BprRowsRunner {
  private triples = { us: 0, is: 0, js: 0, capacity: 0 };

  constructor(
    private readonly arena: WasmArena,
    private readonly at: RowsAt,
  ) {}

  epoch(t: BprTriples, step: BprStep): number {
    const a = this.arena;
    if (t.n > this.triples.capacity) {
      this.release();
      this.triples = { us: a.alloc(t.n * 4), is: a.alloc(t.n * 4), js: a.alloc(t.n * 4), capacity: t.n };
    }
    const { us, is, js } = this.triples;
    a.u32(us, t.n).set(t.u.subarray(0, t.n));
    a.u32(is, t.n).set(t.i.subarray(0, t.n));
    a.u32(js, t.n).set(t.j.subarray(0, t.n));
    const m = this.at;
    const r = (a.ex as BprExports).bprEpoch(m.users, m.q, m.stride, us, is, js, t.n, m.userCount, m.itemCount, m.factors, step.lr, step.reg, step.regBias);
    if (r < 0) {
      const s = -r - 1;
      throw new ModelArgumentError(`triple ${s} (${t.u[s]}, ${t.i[s]}, ${t.j[s]}) is past the model's ${m.userCount} users or ${m.itemCount} items`, ['triples']);
    }
    return r;
  }

  release(): void {
    const { us, is, js, capacity } = this.triples;
    if (capacity === 0) return;
    for (const at of [us, is, js]) this.arena.free(at, capacity * 4);
    this.triples = { us: 0, is: 0, js: 0, capacity: 0 };
  }
}

/** The reference (`bprAt`) over the same rows: for `--kernel ts`. */
export class TsBprRows implements BprRowsRunner {
  constructor(
    private readonly arena: WasmArena,
    private readonly at: RowsAt,
  ) {}

  epoch(t: BprTriples, step: BprStep): number {
    const heap = this.arena.heapF32();
    const addr = this.arena.heapU32();
    const { factors: k, users, q, stride } = this.at;
    const qi = (i: number): number => (q + i * stride) >>> 2;
    return bprAt({ p: heap, pu: (u) => addr[(users >>> 2) + u]! >>> 2, q: heap, qi, b: heap, b_: (i) => qi(i) + k }, this.at.userCount, this.at.itemCount, k, t, step);
  }

  release(): void {}
}

/** The runner of `kernel` over the rows at `at`. */
export function bprRows(kernel: 'wasm' | 'ts', arena: WasmArena, at: RowsAt): BprRowsRunner {
  return kernel === 'wasm' ? new WasmBprRows(arena, at) : new TsBprRows(arena, at);
}

/** One training run in a kernel instance's memory: P, Q and B copied in as rows, the triples each epoch. */
export class WasmBprSession implements BprEpochRunner {
  private readonly arena = new WasmArena();
  private readonly at: RowsAt & { p: number };
  private readonly runner: WasmBprRows;

  constructor(private readonly model: BprModel) {
    this.at = packedRowsAt(this.arena, model.users, model.items, model.factors);
    this.runner = new WasmBprRows(this.arena, this.at);
    this.reload();
  }

  epoch(t: BprTriples, step: BprStep): number {
    return this.runner.epoch(t, step);
  }

  reload(): void {
    const m = this.model;
    rowsIn(this.arena, this.at.p, this.at.stride, m.factors, m.p, undefined);
    rowsIn(this.arena, this.at.q, this.at.stride, m.factors, m.q, m.b);
  }

  readBack(): void {
    const m = this.model;
    rowsOut(this.arena, this.at.p, this.at.stride, m.factors, m.p, undefined);
    rowsOut(this.arena, this.at.q, this.at.stride, m.factors, m.q, m.b);
  }
}

/** `trainBpr`'s `kernel` for WebAssembly: one session per training run. */
export const wasmBprKernel: BprKernel = (model) => new WasmBprSession(model);

/** `bprEpoch` of `bpr.ts`, signature and all, run by the kernel (copy in, epoch, read back): for tests. */
export function bprEpochWasm(model: BprModel, t: BprTriples, step: BprStep): number {
  const s = new WasmBprSession(model);
  const loss = s.epoch(t, step);
  s.readBack();
  return loss;
}
