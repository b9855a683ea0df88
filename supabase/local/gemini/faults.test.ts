import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaultConfigError, FaultPlan, faultsFromEnv, parseFaultConfig, type Outcome } from './faults.ts';
import { LatencySampler, latencyFromEnv } from './latency.ts';

describe('fault configuration', () => {
  test('the environment variables of npm run dev parse into rates, seed and per-model rates', () => {
    const config = faultsFromEnv({
      GEMINI_STANDIN_FAULTS: JSON.stringify({
        rate429: 0.1,
        error500: 0.05,
        error503: 0.02,
        hang: 0.02,
        blocked: 0.01,
        noImage: 0.01,
        malformed: 0.01,
        models: { 'models/gemini-3-pro-image-preview': { error503: 0.5 } },
      }),
      GEMINI_STANDIN_SEED: '99',
    });
    assert.equal(config?.rate429, 0.1);
    assert.equal(config?.seed, 99);
    assert.deepEqual(config?.models, { 'gemini-3-pro-image-preview': { error503: 0.5 } });
    assert.equal(faultsFromEnv({}), undefined);
    assert.deepEqual(latencyFromEnv({ GEMINI_STANDIN_LATENCY_MS: '{"p50":800,"p99":4000}' }), { p50: 800, p99: 4000 });
  });

  test('unknown faults, rates outside 0..1 and rates adding up past 1 are refused', () => {
    assert.throws(() => parseFaultConfig({ fire: 0.1 }), FaultConfigError);
    assert.throws(() => parseFaultConfig({ rate429: -0.1 }), FaultConfigError);
    assert.throws(() => parseFaultConfig({ rate429: 0.7, hang: 0.4 }), FaultConfigError);
    assert.throws(() => parseFaultConfig({ models: { m: { error500: 2 } } }), FaultConfigError);
    assert.throws(() => faultsFromEnv({ GEMINI_STANDIN_FAULTS: 'rate429=0.1' }), FaultConfigError);
  });
});

describe('drawing outcomes', () => {
  const draw = (plan: FaultPlan, n: number, model = 'm') => Array.from({ length: n }, () => plan.next(model));

  test('rates are honoured over many draws', () => {
    const plan = new FaultPlan({ seed: 7, rate429: 0.2, error500: 0.1, hang: 0.05 });
    const counts = new Map<Outcome, number>();
    for (const outcome of draw(plan, 20000)) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    const share = (o: Outcome) => (counts.get(o) ?? 0) / 20000;
    assert.ok(Math.abs(share('rate429') - 0.2) < 0.015, `rate429 ${share('rate429')}`);
    assert.ok(Math.abs(share('error500') - 0.1) < 0.01, `error500 ${share('error500')}`);
    assert.ok(Math.abs(share('hang') - 0.05) < 0.008, `hang ${share('hang')}`);
    assert.ok(Math.abs(share('ok') - 0.65) < 0.015, `ok ${share('ok')}`);
  });

  test('a seed fixes the sequence; another seed changes it', () => {
    const config = { seed: 3, error503: 0.5 };
    assert.deepEqual(draw(new FaultPlan(config), 50), draw(new FaultPlan(config), 50));
    assert.notDeepEqual(draw(new FaultPlan(config), 50), draw(new FaultPlan({ ...config, seed: 4 }), 50));
  });

  test('forced outcomes come first, in order, then rates resume', () => {
    const plan = new FaultPlan({});
    plan.force({ outcome: 'hang', count: 2 });
    plan.force({ outcome: 'blocked', model: 'other' });
    plan.force({ outcome: 'malformed' });
    assert.deepEqual(draw(plan, 2), ['hang', 'hang']);
    assert.deepEqual(draw(plan, 2), ['malformed', 'ok'], 'the entry for another model is skipped');
    assert.deepEqual(draw(plan, 2, 'other'), ['blocked', 'ok']);
  });

  test('per-model rates replace the top-level ones for that model only', () => {
    const plan = new FaultPlan({ error500: 1, models: { calm: {} } });
    assert.deepEqual(draw(plan, 3, 'calm'), ['ok', 'ok', 'ok']);
    assert.deepEqual(draw(plan, 3, 'busy'), ['error500', 'error500', 'error500']);
  });
});

describe('latency', () => {
  test('samples follow the log-normal fixed by p50 and p99', () => {
    const sampler = new LatencySampler({ p50: 800, p99: 4000 }, 11);
    const samples = Array.from({ length: 40000 }, () => sampler.next()).sort((a, b) => a - b);
    const p50 = samples[Math.floor(samples.length * 0.5)]!;
    const p99 = samples[Math.floor(samples.length * 0.99)]!;
    assert.ok(Math.abs(p50 - 800) / 800 < 0.05, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 4000) / 4000 < 0.1, `p99 ${p99}`);
    assert.ok(samples[0]! > 0);
  });

  test('no configuration means no delay; the same seed repeats the delays', () => {
    assert.equal(new LatencySampler(undefined).next(), 0);
    const a = new LatencySampler({ p50: 100, p99: 900 }, 5);
    const b = new LatencySampler({ p50: 100, p99: 900 }, 5);
    assert.deepEqual([a.next(), a.next(), a.next()], [b.next(), b.next(), b.next()]);
  });
});
