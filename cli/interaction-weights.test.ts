import { describe, expect, it } from 'vitest';
import { DEFAULT_INTERACTION_WEIGHTS } from '../actors/serving/index.js';
import { CliError, ExitCode } from './exit-codes.js';
import { interactionWeightsFrom } from './interaction-weights.js';
import { resolveSettings } from './settings.js';

describe('cli interaction weights', () => {
  it('cli - --interaction-weights (or REEL_INTERACTION_WEIGHTS) sets the weights over the defaults; unset, none are given', () => {
    const cwd = '/nonexistent-dir-for-settings';
    expect(interactionWeightsFrom(resolveSettings({}, {}, cwd))).toBeUndefined();
    expect(interactionWeightsFrom(resolveSettings({ interactionWeights: 'PLAY=0.2' }, {}, cwd))).toEqual({ ...DEFAULT_INTERACTION_WEIGHTS, PLAY: 0.2 });
    expect(interactionWeightsFrom(resolveSettings({}, { REEL_INTERACTION_WEIGHTS: 'impression=1' }, cwd))).toEqual({ ...DEFAULT_INTERACTION_WEIGHTS, IMPRESSION: 1 });
  });

  it('cli - a bad entry is a usage error (exit 2) naming the flag, its variable and the entry', () => {
    for (const [spec, named] of [['PLAY=x', "'PLAY=x' has a weight"], ['SKIP=1', "'SKIP=1' names no interaction type"], ['THUMBS_UP=-2', "'THUMBS_UP=-2'"]] as const) {
      let err: unknown;
      try {
        interactionWeightsFrom({ interactionWeights: spec });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(ExitCode.Usage);
      expect((err as CliError).message).toMatch(/^--interaction-weights \[REEL_INTERACTION_WEIGHTS\]: /);
      expect((err as CliError).message).toContain(named);
    }
  });
});
