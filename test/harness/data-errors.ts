import { expect } from 'vitest';
import { DataFormatError } from '../../data/index.js';

/** The `DataFormatError` that `p` rejects with (fails the test when it resolves or rejects otherwise). */
export async function formatFailure(p: Promise<unknown>): Promise<DataFormatError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DataFormatError);
  return err as DataFormatError;
}
