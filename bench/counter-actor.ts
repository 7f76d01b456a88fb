import type { Actor, ActorFactory } from '../runtime/types.js';

/** Messages handled by every counter of one benchmark, read by the bench to know when it is done. */
export interface Tally {
  handled: number;
}

/** The bench actor: a counter. Its receive returns undefined (an ask gets `undefined` back). */
export class CounterActor implements Actor {
  n = 0;

  constructor(private readonly tally: Tally) {}

  receive(): undefined {
    this.n++;
    this.tally.handled++;
    return undefined;
  }
}

/** A factory of counters sharing `tally`; with `keep`, every instance is also pushed there (to verify totals). */
export function counterFactory(tally: Tally, keep?: CounterActor[]): ActorFactory {
  return () => {
    const a = new CounterActor(tally);
    keep?.push(a);
    return a;
  };
}
