import { type BprEpochRunner, type BprKernel, type BprModel, type BprStep } from './bpr.js';
import type { BprTriples } from './bpr-sampler.js';
import { ModelArgumentError } from './errors.js';
import { WasmArena, type KernelBase } from './wasm-arena.js';

/**
 * BPR-MF's SGD in WebAssembly SIMD (`models/wasm/bpr.as.ts`): same contract as `bprEpoch` of
 * `bpr.ts`, which stays the reference. The sampler stays in TypeScript: each epoch copies in
 * its triples (three u32 per triple) and the kernel applies them.
 */
interface BprExports extends KernelBase {
  bprEpoch(
    p: number, q: number, b: number, us: number, is: number, js: number,
    n: number, users: number, items: number, k: number,
    lr: number, reg: number, regBias: number,
  ): number;
}

/** One training run in a kernel instance's memory: P, Q and B copied in once, the triples each epoch. */
export class WasmBprSession implements BprEpochRunner {
  private readonly arena = new WasmArena<BprExports>();
  private readonly at: { p: number; q: number; b: number };
  private triples = { us: 0, is: 0, js: 0, capacity: 0 };

  constructor(private readonly model: BprModel) {
    const a = this.arena;
    this.at = { p: a.put(model.p), q: a.put(model.q), b: a.put(model.b) };
  }

  epoch(t: BprTriples, step: BprStep): number {
    const a = this.arena;
    if (t.n > this.triples.capacity) this.triples = { us: a.alloc(t.n * 4), is: a.alloc(t.n * 4), js: a.alloc(t.n * 4), capacity: t.n };
    const { us, is, js } = this.triples;
    a.u32(us, t.n).set(t.u.subarray(0, t.n));
    a.u32(is, t.n).set(t.i.subarray(0, t.n));
    a.u32(js, t.n).set(t.j.subarray(0, t.n));
    const m = this.model;
    const r = a.ex.bprEpoch(this.at.p, this.at.q, this.at.b, us, is, js, t.n, m.users, m.items, m.factors, step.lr, step.reg, step.regBias);
    if (r < 0) {
      const s = -r - 1;
      throw new ModelArgumentError(`triple ${s} (${t.u[s]}, ${t.i[s]}, ${t.j[s]}) is past the model's ${m.users} users or ${m.items} items`, ['triples']);
    }
    return r;
  }

  reload(): void {
    const a = this.arena;
    const m = this.model;
    a.f32(this.at.p, m.p.length).set(m.p);
    a.f32(this.at.q, m.q.length).set(m.q);
    a.f32(this.at.b, m.items).set(m.b);
  }

  readBack(): void {
    const a = this.arena;
    const m = this.model;
    m.p.set(a.f32(this.at.p, m.p.length));
    m.q.set(a.f32(this.at.q, m.q.length));
    m.b.set(a.f32(this.at.b, m.items));
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

