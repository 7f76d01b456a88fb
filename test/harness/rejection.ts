import type { ReelError } from '../../runtime/errors.js';

/** The error `p` rejects with; throws if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<ReelError> {
  try {
    await p;
  } catch (e) {
    return e as ReelError;
  }
  throw new Error('expected the promise to reject');
}
