import { parseInteractionWeights, type InteractionWeights } from '../actors/serving/index.js';
import { InvalidArgument } from '../runtime/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { flagOf, SETTINGS_ENV, type Settings } from './settings.js';

/**
 * A node's fold-in weights from `--interaction-weights` (or REEL_INTERACTION_WEIGHTS, or the
 * config file), undefined when none sets them; a bad entry is a usage error naming the flag.
 */
export function interactionWeightsFrom(s: Pick<Settings, 'interactionWeights'>): InteractionWeights | undefined {
  if (s.interactionWeights === undefined) return undefined;
  try {
    return parseInteractionWeights(s.interactionWeights);
  } catch (err) {
    if (!(err instanceof InvalidArgument)) throw err;
    throw new CliError(`${flagOf('interactionWeights')} [${SETTINGS_ENV.interactionWeights}]: ${err.message}`, ExitCode.Usage);
  }
}
