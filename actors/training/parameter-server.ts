import type { Actor, ActorAddress, ActorContext, Envelope } from '../../runtime/index.js';
import { unknownMessageType } from '../decode.js';
import { PsMsg, type ContributeBody, type GetGlobalBody } from './messages.js';

interface PsRecord {
  attempt: number;
  /** Per worker node: its sum of training ratings and their count. */
  parts: Record<string, [number, number]>;
}

/**
 * A job's global parameters (the mean rating), one actor per model version: each worker
 * contributes its part once per attempt; the mean is answered once every worker's part is in.
 * Dense parameters of later models (encoders) belong here too.
 */
export class ParameterServerActor implements Actor<PsRecord> {
  private rec: PsRecord = { attempt: 0, parts: {} };

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
      default:
        throw unknownMessageType(this.address, msg.type);
    }
  }
}
