import { OffsetClock, systemClock, type Clock } from '../runtime/index.js';
import { SettingsError } from './settings.js';

/** Environment variables of the test-only clock (documented in README, for fault-injection tests). */
export const TEST_CLOCK_ENV = 'REEL_TEST_CLOCK';
export const TEST_CLOCK_STEP_ENV = 'REEL_TEST_CLOCK_STEP';

/** Offsets or a step, in ms: `wall=+2000,mono=+2000`. */
interface Offsets {
  wall: number;
  mono: number;
}

function parseOffsets(name: string, spec: string): Offsets {
  const out: Offsets = { wall: 0, mono: 0 };
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(wall|mono)=([+-]?\d+)$/.exec(part);
    if (!m) throw new SettingsError(`${name}: '${part}' is not wall=±MS or mono=±MS`);
    out[m[1] as keyof Offsets] = Number(m[2]);
  }
  return out;
}

/**
 * FOR TESTS ONLY: a node process whose clocks are offset from the machine's, so that a test can
 * run one node ahead of the others or step its wall clock while it runs. `REEL_TEST_CLOCK` sets
 * the offsets (`wall=+2000,mono=+2000`); each SIGUSR2 then applies `REEL_TEST_CLOCK_STEP`
 * (`wall=-3000`; a monotonic clock only steps forward). Without `REEL_TEST_CLOCK`, the machine's clocks.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv, onStep: (step: Offsets) => void): Clock {
  const spec = env[TEST_CLOCK_ENV];
  if (spec === undefined || spec === '') return systemClock;
  const o = parseOffsets(TEST_CLOCK_ENV, spec);
  const clock = new OffsetClock(systemClock, o.wall, o.mono);
  const stepSpec = env[TEST_CLOCK_STEP_ENV];
  if (stepSpec !== undefined && stepSpec !== '') {
    const step = parseOffsets(TEST_CLOCK_STEP_ENV, stepSpec);
    if (step.mono < 0) throw new SettingsError(`${TEST_CLOCK_STEP_ENV}: a monotonic clock never steps back`);
    process.on('SIGUSR2', () => {
      clock.step(step.wall, step.mono);
      onStep(step);
    });
  }
  return clock;
}
