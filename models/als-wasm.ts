import { CG_RESIDUAL_FLOOR, type AlsKernel, type AlsModel, type AlsProblem, type AlsSide, type AlsSweepRunner } from './als.js';
import { WasmArena, type KernelBase } from './wasm-arena.js';

/**
 * Implicit ALS's hot loops in WebAssembly SIMD (`models/wasm/als.as.ts`): the Gramian and the
 * CG half-sweep of `als.ts`, which stays the reference the kernel is tested against.
 */
interface AlsExports extends KernelBase {
  alsGramian(m: number, n: number, k: number, g: number): void;
  alsHalfSweep(
    solve: number, fixed: number, g: number,
    offsets: number, cols: number, conf: number, reg: number,
    rows: number, k: number, a0: number, cgSteps: number, floor: number, scratch: number,
  ): void;
}

/** A side's arrays in the arena. */
interface SideAt {
  offsets: number;
  cols: number;
  conf: number;
  reg: number;
  rows: number;
}

function putSide(arena: WasmArena<AlsExports>, side: AlsSide): SideAt {
  return { offsets: arena.put(side.rows.offsets), cols: arena.put(side.rows.cols), conf: arena.put(side.conf), reg: arena.put(side.reg), rows: side.rows.rows };
}

/**
 * One training run in a kernel instance's memory: X, Y, both sides' interactions,
 * confidences and regularisations copied in once; the Gramian (k × k) and the CG scratch
 * (4k floats) beside them. The model given stays as it was until `readBack`.
 */
export class WasmAlsSession implements AlsSweepRunner {
  private readonly arena = new WasmArena<AlsExports>();
  private readonly at: { x: number; y: number; g: number; scratch: number; user: SideAt; item: SideAt };

  constructor(
    private readonly model: AlsModel,
    private readonly problem: AlsProblem,
  ) {
    const a = this.arena;
    const k = model.factors;
    this.at = { x: a.put(model.x), y: a.put(model.y), g: a.alloc(k * k * 4), scratch: a.alloc(4 * k * 4), user: putSide(a, problem.user), item: putSide(a, problem.item) };
  }

  sweep(): void {
    const { x, y } = this.at;
    this.half(x, y, this.model.items, this.at.user);
    this.half(y, x, this.model.users, this.at.item);
  }

  private half(solve: number, fixed: number, fixedRows: number, s: SideAt): void {
    const { ex } = this.arena;
    const k = this.model.factors;
    ex.alsGramian(fixed, fixedRows, k, this.at.g);
    ex.alsHalfSweep(solve, fixed, this.at.g, s.offsets, s.cols, s.conf, s.reg, s.rows, k, this.problem.unobservedWeight, this.problem.cgSteps, CG_RESIDUAL_FLOOR, this.at.scratch);
  }

  readBack(): void {
    this.model.x.set(this.arena.f32(this.at.x, this.model.x.length));
    this.model.y.set(this.arena.f32(this.at.y, this.model.y.length));
  }
}

/** `trainAls`'s `kernel` for WebAssembly: one session per training run. */
export const wasmAlsKernel: AlsKernel = (model, problem) => new WasmAlsSession(model, problem);

/**
 * `alsHalfSweep` of `als.ts`, signature and all, run by the kernel (copy in, half-sweep, copy
 * back): for tests and one-offs.
 */
export function alsHalfSweepWasm(solve: Float32Array, fixed: Float32Array, fixedRows: number, side: AlsSide, k: number, unobservedWeight: number, cgSteps: number): void {
  const a = new WasmArena<AlsExports>();
  const sAt = a.put(solve);
  const fAt = a.put(fixed);
  const g = a.alloc(k * k * 4);
  const scratch = a.alloc(4 * k * 4);
  const s = putSide(a, side);
  a.ex.alsGramian(fAt, fixedRows, k, g);
  a.ex.alsHalfSweep(sAt, fAt, g, s.offsets, s.cols, s.conf, s.reg, s.rows, k, unobservedWeight, cgSteps, CG_RESIDUAL_FLOOR, scratch);
  solve.set(a.f32(sAt, solve.length));
}

/** The Gramian MᵀM computed by the kernel, for tests. */
export function gramianWasm(m: Float32Array, n: number, k: number): Float32Array {
  const a = new WasmArena<AlsExports>();
  const mAt = a.put(m);
  const g = a.alloc(k * k * 4);
  a.ex.alsGramian(mAt, n, k, g);
  return a.f32(g, k * k).slice();
}
