import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeReply } from './envelope.js';
import { DeadlineExceeded, errorFromWire, errorToWire, HandlerFailed, Internal, Overloaded, ReelError, toReelError } from './errors.js';
import { parseSystemOptions } from './options.js';

describe('errors', () => {
  it('errors - cross the wire with their code, message and location', () => {
    const e = new Overloaded('full', { kind: 'user', key: '7', shard: 3 });
    const back = errorFromWire(errorToWire(e, 'n1'));
    expect(back).toBeInstanceOf(Overloaded);
    expect(back).toMatchObject({ code: 'Overloaded', message: 'full', kind: 'user', key: '7', shard: 3, node: 'n1' });
  });

  it('errors - an application code survives as a ReelError with that code', () => {
    const back = errorFromWire(errorToWire(new ReelError('OutOfStock', 'none')));
    expect(back).toBeInstanceOf(ReelError);
    expect([back.code, back.message]).toEqual(['OutOfStock', 'none']);
  });

  it('errors - unknown exceptions become HandlerFailed (thrown by a handler) or Internal (on the wire)', () => {
    expect(toReelError(new TypeError('x'))).toBeInstanceOf(HandlerFailed);
    expect(errorToWire(new TypeError('x')).code).toBe('Internal');
    expect(errorFromWire('garbage')).toBeInstanceOf(Internal);
  });

  it('errors - a reply frame carries a typed error', () => {
    const f = decodeFrame(encodeReply({ node: 'n', epoch: 2, error: new DeadlineExceeded('late') }), 0);
    expect(f.type).toBe('reply');
    if (f.type === 'reply') {
      expect(f.reply.error).toBeInstanceOf(DeadlineExceeded);
      expect(f.reply.epoch).toBe(2);
    }
  });
});

describe('system options', () => {
  it('options - defaults fill what is missing; bad fields are named together', () => {
    expect(parseSystemOptions({ nodeId: 'a' }).mailboxCapacity).toBe(10_000);
    try {
      parseSystemOptions({ nodeId: 'a.b', mailboxCapacity: 0 });
      expect.unreachable();
    } catch (e) {
      expect((e as ReelError).code).toBe('InvalidArgument');
      expect((e as Error).message).toMatch(/nodeId.*mailboxCapacity/);
    }
  });
});
