/**
 * The schedule a pruning run is laid out with before training: planned knobs
 * scale with the run's length to the settings the experiment supports, given
 * knobs are kept, and layouts that leave no fine-tuning (or no IEE step) are
 * refused with the numbers and the flag to change. Also the on-device check's
 * recognition of a target the measurements do not follow.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { LatpruneError } from '../src/errors.js';
import { describePlan, planSchedule } from '../src/prune/plan.js';
import { nextCheckStep, unresponsiveTarget } from '../src/prune/index.js';

const opts = { timeout: 10_000 };

test('planned schedules reproduce the experiment at 8 epochs and scale down', opts, () => {
  const halp = planSchedule('halp', 3750, {});
  assert.deepEqual([halp.steps, halp.interval, halp.descent, halp.finetune], [30, 40, 1200, 2550]);
  const iee = planSchedule('iee', 3750, {});
  assert.deepEqual([iee.ramp, iee.rampInterval, iee.H, iee.J, iee.Q, iee.T, iee.finetune], [30, 40, 100, 100, 100, 5, 1050]);
  assert.match(
    describePlan('iee', iee, 3750),
    /descent of 30 prunes 40 iterations apart \(1200\), 5 IEE steps of H 100 \+ J 100 \+ Q 100 \(1500\), then 1050 of fine-tuning; planned/,
  );
  const short = planSchedule('halp', 400, {});
  assert.ok(short.steps >= 5 && short.steps <= 10 && short.interval >= 20, `${short.steps} x ${short.interval}`);
  assert.ok(short.finetune >= 0.6 * 400);
  const ieeShort = planSchedule('iee', 470, {});
  assert.ok(ieeShort.T >= 1 && ieeShort.finetune >= 0.1 * 470, JSON.stringify(ieeShort));
  assert.equal(ieeShort.descent + ieeShort.stepsIterations + ieeShort.finetune, 470);
});

test("given knobs are kept: the paper's one-shot IEE with --H, HALP with --steps/--interval", opts, () => {
  const oneShot = planSchedule('iee', 3750, { H: 100, J: 100, Q: 100, T: 5, ramp: 1 });
  assert.deepEqual([oneShot.ramp, oneShot.rampInterval, oneShot.descent, oneShot.T], [1, undefined, 100, 5]);
  assert.deepEqual(oneShot.planned, []);
  const h = planSchedule('halp', 30, { steps: 2, interval: 3 });
  assert.deepEqual([h.steps, h.interval, h.finetune], [2, 3, 24]);
  // T is cut to what fits, and said so
  const cut = planSchedule('iee', 1000, { H: 100, J: 100, Q: 100, T: 5, ramp: 1 });
  assert.ok(cut.T < 5 && cut.T >= 1 && cut.planned.includes('T'));
});

test('schedules that cannot fine-tune, or fit no IEE step, are refused with the numbers', opts, () => {
  const refused = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof LatpruneError && e.code === 'BAD_ARGUMENT' && re.test(e.message));
  refused(() => planSchedule('halp', 12, {}), /the run has 12 training iterations; pruning needs at least 20/);
  refused(
    () => planSchedule('halp', 400, { steps: 30, interval: 40 }),
    /HALP's 30 prunes 40 iterations apart take 1200 of the run's 400 iterations, leaving 0 to fine-tune .* lower --steps or --interval/,
  );
  // the case: 23 iterations with the paper's IEE settings
  refused(() => planSchedule('iee', 23, { H: 100, J: 100, Q: 100, T: 5 }), /no IEE step would run: lower --H\/--J\/--Q/);
  // and with every knob planned: 23 iterations fit no IEE step either
  refused(
    () => planSchedule('iee', 23, {}),
    /IEE's descent takes 7 of the run's 23 iterations; one step of H \+ J \+ Q = 13 iterations plus 10 of fine-tuning does not fit/,
  );
  refused(() => planSchedule('iee', 400, { ramp: 1.5 }), /--ramp must be a positive integer/);
});

test('a check whose measurements do not follow the budget stops, saying the target looks unreachable', opts, () => {
  // a MobileNet-V2-style net on ORT CPU: estimates cut 4x, measured latency barely moves
  const target = 0.5;
  const probes = [
    { estimatedMs: 0.42, measuredMs: 0.78, budgetMs: 0.45 },
    { estimatedMs: 0.2, measuredMs: 0.74, budgetMs: 0.25 },
  ];
  const why = unresponsiveTarget(probes, target);
  assert.match(
    why ?? '',
    /the estimate fell 52% \(0\.420 -> 0\.200 ms\) while the measured latency fell 5% \(0\.780 -> 0\.740 ms\); about 0\.7\d\d ms of each run does not shrink .* unreachable/,
  );
  const step = nextCheckStep(probes, target);
  assert.equal(step.kind, 'stop');
  // measurements that follow the estimate: keep re-solving
  assert.equal(
    unresponsiveTarget(
      [
        { estimatedMs: 0.42, measuredMs: 0.62 },
        { estimatedMs: 0.3, measuredMs: 0.52 },
      ],
      target,
    ),
    undefined,
  );
  assert.equal(unresponsiveTarget([{ estimatedMs: 0.42, measuredMs: 0.78 }], target), undefined, 'one probe says nothing');
});
