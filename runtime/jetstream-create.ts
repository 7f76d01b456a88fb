/** Tries a creation this many times when another process creates the same stream at once. */
const CREATE_TRIES = 5;

/**
 * Creates (or opens) a JetStream KV bucket or object store with `create`, again when the
 * server refused it because another process was creating the same stream at that moment
 * (`subjects overlap with an existing stream`, `stream name already in use`): nodes started
 * together all create the cluster's buckets, and the second creation, tried again, opens the
 * stream the first one made.
 */
export async function createConcurrently<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= CREATE_TRIES || !/subjects overlap with an existing stream|stream name already in use/i.test((err as Error).message ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
