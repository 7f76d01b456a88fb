import { Adam, initEncoderWeights } from '../../models/index.js';
import { InvalidArgument, type Actor, type ActorAddress, type ActorContext, type Envelope } from '../../runtime/index.js';
import { unknownMessageType } from '../decode.js';
import { PsMsg, type ContributeBody, type EncoderInitBody, type EncoderPushBody, type GatherBody, type GetGlobalBody } from './messages.js';

interface PsRecord {
  attempt: number;
  /** Per worker node: its sum of training ratings and their count. */
  parts: Record<string, [number, number]>;
}

/** The dense state of an attempt, in memory only: a new attempt (a worker gone, this actor moved) starts it again. */
interface Dense {
  attempt: number;
  gathered: Map<string, Map<string, unknown>>;
  encoder?: { weights: Float32Array; adam: Adam; step: number; pushes: Map<string, EncoderPushBody> };
}

/**
 * A job's global parameters, one actor per model version. The mean rating: each worker
 * contributes its part once per attempt; the mean is answered once every worker's part is in.
 * The content-aware model's dense parameters: its feature encoder's weights, to which every
 * worker pushes its gradients step by step and on which this actor takes the Adam steps, and
 * the statistics workers gather (the feature vocabulary, the feature nodes' sums). Workers
 * poll: an actor handles one message at a time, so an answer that waits for the others is
 * "not yet", asked again.
 */
export class ParameterServerActor implements Actor<PsRecord> {
  private rec: PsRecord = { attempt: 0, parts: {} };
  private dense: Dense = { attempt: 0, gathered: new Map() };

  constructor(private readonly address: ActorAddress) {}

  onActivate(_ctx: ActorContext, snap: PsRecord | undefined): void {
    if (snap) this.rec = snap;
  }

  snapshot(): PsRecord {
    return this.rec;
  }

  async receive(msg: Envelope, ctx: ActorContext): Promise<unknown> {
    switch (msg.type) {
      case PsMsg.Contribute: {
        const b = msg.body as ContributeBody;
        if (b.attempt < this.rec.attempt) return false;
        if (b.attempt > this.rec.attempt) this.rec = { attempt: b.attempt, parts: {} };
        this.rec.parts[b.node] = [b.sum, b.count];
        await ctx.persist(true);
        return true;
      }
      case PsMsg.Get: {
        const b = msg.body as GetGlobalBody;
        const parts = Object.values(this.rec.parts);
        if (b.attempt !== this.rec.attempt || parts.length < b.workers) return { mean: null, count: null };
        let sum = 0;
        let n = 0;
        for (const [s, c] of parts) {
          sum += s;
          n += c;
        }
        return { mean: n > 0 ? sum / n : 0, count: n };
      }
      case PsMsg.Gather:
        return this.gather(msg.body as GatherBody);
      case PsMsg.EncoderInit:
        return this.encoderInit(msg.body as EncoderInitBody);
      case PsMsg.EncoderPush:
        return this.encoderPush(msg.body as EncoderPushBody);
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }

  /** The dense state of `attempt` (a later attempt replaces an earlier one's); undefined for an earlier attempt. */
  private denseOf(attempt: number): Dense | undefined {
    if (attempt < this.dense.attempt) return undefined;
    if (attempt > this.dense.attempt) this.dense = { attempt, gathered: new Map() };
    return this.dense;
  }

  private gather(b: GatherBody): { values: unknown[] | null } {
    const d = this.denseOf(b.attempt);
    if (d === undefined) return { values: null };
    let m = d.gathered.get(b.key);
    if (m === undefined) d.gathered.set(b.key, (m = new Map()));
    m.set(b.node, b.value);
    if (m.size < b.workers) return { values: null };
    return { values: [...m.keys()].sort().map((n) => m.get(n)) };
  }

  private encoderInit(b: EncoderInitBody): { weights: Float32Array; step: number } | null {
    const d = this.denseOf(b.attempt);
    if (d === undefined) return null;
    d.encoder ??= (() => {
      const weights = initEncoderWeights(b.shape, b.seed);
      return { weights, adam: new Adam(weights.length, { lr: b.lr }), step: 0, pushes: new Map() };
    })();
    return { weights: d.encoder.weights, step: d.encoder.step };
  }

  /** Keeps a worker's gradients of a step; with every worker's, the rows-weighted mean takes one Adam step. Answers the weights once the step is taken. */
  private encoderPush(b: EncoderPushBody): { weights: Float32Array | null } {
    const d = this.denseOf(b.attempt);
    const e = d?.encoder;
    if (e === undefined) return { weights: null };
    if (b.step <= e.step) return { weights: e.weights };
    if (b.step !== e.step + 1) throw new InvalidArgument(`encoder step ${b.step} pushed while the weights are at step ${e.step}`, { fields: ['step'] });
    if (b.grads.length !== e.weights.length) throw new InvalidArgument(`${b.grads.length} gradients for ${e.weights.length} encoder weights`, { fields: ['grads'] });
    e.pushes.set(b.node, b);
    if (e.pushes.size < b.workers) return { weights: null };
    const rows = [...e.pushes.values()].reduce((n, p) => n + p.rows, 0);
    const mean = new Float32Array(e.weights.length);
    for (const node of [...e.pushes.keys()].sort()) {
      const p = e.pushes.get(node)!;
      if (p.rows === 0) continue;
      const w = p.rows / rows;
      for (let x = 0; x < mean.length; x++) mean[x] += w * p.grads[x]!;
    }
    if (rows > 0) e.adam.step(e.weights, mean);
    e.step = b.step;
    e.pushes.clear();
    return { weights: e.weights };
  }
}
