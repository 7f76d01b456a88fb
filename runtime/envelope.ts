import { Packr } from 'msgpackr';
import type { EnvelopeBatch } from './envelope-batch.js';
import { errorFromWire, errorToWire } from './errors.js';
import { IdSequence } from './id-sequence.js';
import type { Envelope, Reply } from './types.js';

/**
 * Envelope version. Frames are msgpack arrays whose first element is this version and
 * whose positions are fixed below: change a position or a meaning, bump the version.
 * 2: batch frames hold columns (see `encodeBatch`).
 * 3: deadlines travel as the ms that remain (the sender's clock means nothing to the receiver).
 * 4: the frames of 3; the cluster's nodes place shards by the placement stored in KV (bounded
 *    loads), where nodes of 3 used plain rendezvous: the two would hand shards back and forth, so
 *    they must not mix (a node of 4 refuses to join while nodes of 3 are live, and upgrades the
 *    cluster config once they are gone).
 */
export const ENVELOPE_VERSION = 4;

/** Frame types, the second element of every frame. */
export const FrameType = { Message: 1, Batch: 2, Reply: 3 } as const;

// Bodies stay self-describing msgpack maps (useRecords: false): snapshots and
// messages outlive processes, so no structure table is shared between them.
// moreTypes keeps Float32Array and friends as typed arrays.
const packr = new Packr({ moreTypes: true, useRecords: false });

/** A new envelope, not yet an ask (no `replyTo`). The runtime builds every envelope here. */
export function newEnvelope(
  id: string, kind: string, key: string, shard: number, epoch: number, type: string, deadline: number, trace: string, body: unknown,
): Envelope {
  return { v: ENVELOPE_VERSION, id, kind, key, shard, epoch, type, deadline, trace, body, replyTo: undefined };
}

// V8 stores a field in the representation of its first value. When deadlines of 0 (small
// integers) came first and one in epoch ms (a double) followed, the envelope shape was
// deprecated and batched envelopes kept being built in it, each migrating on first access
// (about 1 µs; batched tells fell from 2.7 to 0.6 million/s). A first envelope with a double
// deadline fixes the representation before any real one is built.
newEnvelope('', '', '', 0, 0, '', 0.5, '', undefined);

/** A local deadline (monotonic ms, 0 none) as the ms that remain at `now`; at least 1, so that it never reads as none. */
export function remainingMs(deadline: number, now: number): number {
  return deadline === 0 ? 0 : Math.max(1, Math.ceil(deadline - now));
}

/** Remaining ms from the wire as a deadline on this node's monotonic clock at `now`. */
function localDeadline(remaining: number, now: number): number {
  return remaining === 0 ? 0 : now + remaining;
}

/** Encodes one actor message; `now` is the sender's monotonic clock, against which its deadline is read. */
export function encodeMessage(e: Envelope, now: number): Uint8Array {
  return packr.pack([ENVELOPE_VERSION, FrameType.Message, e.id, e.kind, e.key, e.shard, e.epoch, e.type, remainingMs(e.deadline, now), e.trace, e.body]);
}

/**
 * Encodes many actor messages into one frame, field by field:
 * `[v, Batch, count, idPrefix, idSuffixes, kinds, keys, shards, epochs, types, remainingMs, traces, bodies]`.
 * `idSuffixes` is the first of consecutive numbers or a list of strings; `keys` and `bodies`
 * are lists; every other field is one shared value or a list with one value per message.
 */
export function encodeBatch(b: EnvelopeBatch, now: number): Uint8Array {
  b.checkIds();
  const d = b.deadlines;
  const remaining = Array.isArray(d) ? d.map((x) => remainingMs(x, now)) : remainingMs(d, now);
  return packr.pack([
    ENVELOPE_VERSION, FrameType.Batch, b.size, b.idPrefix, b.idSuffixes, b.kinds, b.keys, b.shards, b.epochs, b.types, remaining, b.traces, b.bodies,
  ]);
}

/** Encodes an answer; errors go through `errorToWire`. */
export function encodeReply(r: Reply): Uint8Array {
  return r.error
    ? packr.pack([ENVELOPE_VERSION, FrameType.Reply, r.node, r.epoch, 0, errorToWire(r.error, r.node)])
    : packr.pack([ENVELOPE_VERSION, FrameType.Reply, r.node, r.epoch, 1, r.value]);
}

/** Why a frame was refused. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** A decoded frame. */
export type Frame =
  | { type: 'message'; env: Envelope }
  | { type: 'batch'; envs: Envelope[] }
  | { type: 'reply'; reply: Reply };

function isStr(x: unknown): x is string {
  return typeof x === 'string';
}
function isNum(x: unknown): x is number {
  return typeof x === 'number';
}
/** Remaining ms: a finite number, not negative. */
function isRemaining(x: unknown): x is number {
  return typeof x === 'number' && x >= 0 && x < Infinity;
}

/** A batch field: one value of the right type, or a list of `n` of them. */
function isColumn(c: unknown, n: number, ok: (x: unknown) => boolean): boolean {
  if (!Array.isArray(c)) return ok(c);
  if (c.length !== n) return false;
  for (let i = 0; i < n; i++) if (!ok(c[i])) return false;
  return true;
}

function isList(c: unknown, n: number, ok?: (x: unknown) => boolean): c is unknown[] {
  return Array.isArray(c) && isColumn(c, n, ok ?? (() => true));
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function decodeBatch(a: unknown[], now: number): Envelope[] {
  if (a.length !== 13) throw new FrameError('batch frame has the wrong length');
  const [, , n, idPrefix, idSuffixes, kinds, keys, shards, epochs, types, deadlines, traces, bodies] = a;
  if (!isCount(n)) throw new FrameError('batch frame without a count');
  if (!isStr(idPrefix) || !(isCount(idSuffixes) ? Number.isSafeInteger(idSuffixes + n) : isList(idSuffixes, n, isStr))) {
    throw new FrameError('batch ids have the wrong shape');
  }
  if (
    !isList(keys, n, isStr) || !isList(bodies, n) || !isColumn(kinds, n, isStr) || !isColumn(shards, n, isNum) || !isColumn(epochs, n, isNum) ||
    !isColumn(types, n, isStr) || !isColumn(deadlines, n, isRemaining) || !isColumn(traces, n, isStr)
  ) {
    throw new FrameError('batch fields have the wrong types or lengths');
  }
  const seq = typeof idSuffixes === 'number' ? new IdSequence(idPrefix, idSuffixes) : undefined;
  const envs = new Array<Envelope>(n);
  for (let i = 0; i < n; i++) {
    envs[i] = newEnvelope(
      seq !== undefined ? seq.next() : idPrefix + (idSuffixes as string[])[i],
      (Array.isArray(kinds) ? kinds[i] : kinds) as string,
      keys[i] as string,
      (Array.isArray(shards) ? shards[i] : shards) as number,
      (Array.isArray(epochs) ? epochs[i] : epochs) as number,
      (Array.isArray(types) ? types[i] : types) as string,
      localDeadline((Array.isArray(deadlines) ? deadlines[i] : deadlines) as number, now),
      (Array.isArray(traces) ? traces[i] : traces) as string,
      bodies[i],
    );
  }
  return envs;
}

function fromTuple(a: unknown[], o: number, now: number): Envelope {
  const id = a[o], kind = a[o + 1], key = a[o + 2], shard = a[o + 3], epoch = a[o + 4];
  const type = a[o + 5], deadline = a[o + 6], trace = a[o + 7];
  if (!isStr(id) || !isStr(kind) || !isStr(key) || !isNum(shard) || !isNum(epoch) || !isStr(type) || !isRemaining(deadline) || !isStr(trace)) {
    throw new FrameError('message fields have the wrong types');
  }
  return newEnvelope(id, kind, key, shard, epoch, type, localDeadline(deadline, now), trace, a[o + 8]);
}

/**
 * Decodes a frame; `now` is the receiver's monotonic clock, from which remaining ms become
 * deadlines. Throws `FrameError` for undecodable bytes, another version or a bad shape.
 */
export function decodeFrame(bytes: Uint8Array, now: number): Frame {
  let a: unknown;
  try {
    a = packr.unpack(bytes);
  } catch (err) {
    throw new FrameError(`undecodable bytes: ${(err as Error).message}`);
  }
  if (!Array.isArray(a) || a.length < 3) throw new FrameError('not an envelope');
  if (a[0] !== ENVELOPE_VERSION) {
    const v = a[0];
    if (typeof v === 'number' && v < ENVELOPE_VERSION) {
      throw new FrameError(`envelope version ${v} from an older reel; this node speaks ${ENVELOPE_VERSION}: every node and client of a cluster must run the same version`);
    }
    throw new FrameError(`unknown envelope version ${String(v)} (this node speaks ${ENVELOPE_VERSION})`);
  }
  switch (a[1]) {
    case FrameType.Message:
      if (a.length !== 11) throw new FrameError('message frame has the wrong length');
      return { type: 'message', env: fromTuple(a, 2, now) };
    case FrameType.Batch:
      return { type: 'batch', envs: decodeBatch(a, now) };
    case FrameType.Reply: {
      const [, , node, epoch, ok, payload] = a;
      if (a.length !== 6 || !isStr(node) || !isNum(epoch)) throw new FrameError('reply frame has the wrong shape');
      return ok === 1
        ? { type: 'reply', reply: { node, epoch, value: payload } }
        : { type: 'reply', reply: { node, epoch, error: errorFromWire(payload) } };
    }
    default:
      throw new FrameError(`unknown frame type ${String(a[1])}`);
  }
}

/** Encodes a value self-describingly (snapshots). */
export function encodeValue(v: unknown): Uint8Array {
  return packr.pack(v);
}

/** Decodes what `encodeValue` wrote. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
