import type { InteractionBody } from '../actors/index.js';
import { DataFormatError } from '../data/errors.js';
import type { Rating } from '../data/types.js';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * A rating as an interaction. MovieLens has no event ids, so none is made up: the actors
 * identify it by (user, title, time, type), and the same rating read twice counts once.
 */
export function ratingToInteraction(r: Rating): InteractionBody {
  return { eventId: '', userId: r.user, titleId: r.item, type: 'RATING', value: r.rating, eventTimeMs: r.time * 1000 };
}

/** A data file that cannot be read is a bad `--data` value: exit 2, the message naming file and line. */
export function asUsage(err: unknown): unknown {
  return err instanceof DataFormatError ? new CliError(err.message, ExitCode.Usage) : err;
}
