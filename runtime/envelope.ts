import { Packr } from 'msgpackr';
import { errorFromWire, errorToWire } from './errors.js';
import type { Envelope, Reply } from './types.js';

/**
 * Envelope version. Frames are msgpack arrays whose first element is this version and
 * whose positions are fixed below: change a position, bump the version.
 */
export const ENVELOPE_VERSION = 1;

/** Frame types, the second element of every frame. */
export const FrameType = { Message: 1, Batch: 2, Reply: 3 } as const;

// Bodies stay self-describing msgpack maps (useRecords: false): snapshots and
// messages outlive processes, so no structure table is shared between them.
// moreTypes keeps Float32Array and friends as typed arrays.
const packr = new Packr({ moreTypes: true, useRecords: false });

type MessageTuple = [string, string, string, number, number, string, number, string, unknown];

function tuple(e: Envelope): MessageTuple {
  return [e.id, e.kind, e.key, e.shard, e.epoch, e.type, e.deadline, e.trace, e.body];
}

/** Encodes one actor message. */
export function encodeMessage(e: Envelope): Uint8Array {
  return packr.pack([ENVELOPE_VERSION, FrameType.Message, e.id, e.kind, e.key, e.shard, e.epoch, e.type, e.deadline, e.trace, e.body]);
}

/** Encodes many actor messages into one frame. */
export function encodeBatch(envs: readonly Envelope[]): Uint8Array {
  const list = new Array<MessageTuple>(envs.length);
  for (let i = 0; i < envs.length; i++) list[i] = tuple(envs[i]!);
  return packr.pack([ENVELOPE_VERSION, FrameType.Batch, list]);
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

function fromTuple(a: unknown[], o: number): Envelope {
  const id = a[o], kind = a[o + 1], key = a[o + 2], shard = a[o + 3], epoch = a[o + 4];
  const type = a[o + 5], deadline = a[o + 6], trace = a[o + 7];
  if (!isStr(id) || !isStr(kind) || !isStr(key) || !isNum(shard) || !isNum(epoch) || !isStr(type) || !isNum(deadline) || !isStr(trace)) {
    throw new FrameError('message fields have the wrong types');
  }
  return { v: ENVELOPE_VERSION, id, kind, key, shard, epoch, type, deadline, trace, body: a[o + 8], replyTo: undefined };
}

/** Decodes a frame; throws `FrameError` for undecodable bytes, an unknown version or a bad shape. */
export function decodeFrame(bytes: Uint8Array): Frame {
  let a: unknown;
  try {
    a = packr.unpack(bytes);
  } catch (err) {
    throw new FrameError(`undecodable bytes: ${(err as Error).message}`);
  }
  if (!Array.isArray(a) || a.length < 3) throw new FrameError('not an envelope');
  if (a[0] !== ENVELOPE_VERSION) throw new FrameError(`unknown envelope version ${String(a[0])}`);
  switch (a[1]) {
    case FrameType.Message:
      if (a.length !== 11) throw new FrameError('message frame has the wrong length');
      return { type: 'message', env: fromTuple(a, 2) };
    case FrameType.Batch: {
      const list = a[2];
      if (!Array.isArray(list)) throw new FrameError('batch frame without a list');
      const envs = new Array<Envelope>(list.length);
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        if (!Array.isArray(t) || t.length !== 9) throw new FrameError(`batch entry ${i} has the wrong shape`);
        envs[i] = fromTuple(t, 0);
      }
      return { type: 'batch', envs };
    }
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
