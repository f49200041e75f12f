/**
 * The zoo build and the `stack` job share one stacking recipe (lib/train): on the same rows, folds
 * and validation data, the build's stacking step and the job's produce the same meta-learner.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackingStep } from '../../functions/container/jobs/stack';
import type { Dataset } from '../../functions/container/kit/datasets';
import { abstainsOn } from '../../lib/ensemble';
import { fuseMatrices, meanLogLoss } from '../../lib/fusion';
import { EnsembleManifestSchema, type MetaLearner } from '../../lib/schema';
import {
  createRng,
  featurizeForFamily,
  groupedFolds,
  probabilityMatrix,
  refitMember,
  selectRows,
  servingTemperature,
} from '../../lib/train';
import { type CorpusMessage, loadCorpus } from '../../models/corpus';
import { crossFitZoo, FOLDS } from '../../models/steps/crossfit';
import { splitCorpus } from '../../models/steps/split';
import { stackOnValidation } from '../../models/steps/stacking';
import { ZOO } from '../../models/zoo';

const zoo = EnsembleManifestSchema.parse(JSON.parse(readFileSync('models/spam/manifest.json', 'utf8')));

let train: CorpusMessage[];
let validation: CorpusMessage[];

/** A small real subset: train rows that include whole near-duplicate groups, and validation rows. */
beforeAll(async () => {
  const corpus = await loadCorpus();
  const sizes = new Map<string, number>();
  for (const m of corpus) sizes.set(m.dupKey, (sizes.get(m.dupKey) ?? 0) + 1);
  const allTrain = corpus.filter((m) => m.split === 'train');
  const grouped = allTrain.filter((m) => (sizes.get(m.dupKey) ?? 0) > 1).slice(0, 40);
  train = [...grouped, ...allTrain.filter((m) => (sizes.get(m.dupKey) ?? 0) === 1).filter((_, i) => i % 30 === 0)];
  validation = corpus.filter((m) => m.split === 'validation').filter((_, i) => i % 20 === 0);
}, 120_000);

const dataset = (messages: CorpusMessage[]): Dataset => ({
  key: 'datasets/spam/subset.jsonl',
  hash: 'subset',
  inputs: messages.map((m) => ({ message: m.raw })),
  ids: messages.map((m) => m.id),
  labels: Int32Array.from(messages, (m) => m.label),
});

describe('one stacking recipe for models/build.ts and the stack job', () => {
  it('the job groups folds by the same near-duplicate key as the build', async () => {
    const job = await stackingStep(zoo, dataset(train), FOLDS, async () => {
      throw new Error('the zoo has no frozen members');
    });
    expect(job.rows.folds).toEqual(
      groupedFolds(
        train.map((m) => m.dupKey),
        FOLDS,
      ),
    );
    const foldOf = new Map<string, number>();
    train.forEach((m, i) => {
      const f = job.rows.folds[i] as number;
      expect(foldOf.get(m.dupKey) ?? f).toBe(f);
      foldOf.set(m.dupKey, f);
    });
    // the subset does contain groups, and `i % K` would have split some of them across folds
    expect(new Set(train.map((m) => m.dupKey)).size).toBeLessThan(train.length);
    expect(train.some((m, i) => train.some((o, j) => o.dupKey === m.dupKey && i % FOLDS !== j % FOLDS))).toBe(true);
  }, 120_000);

  it("the build's cross-fit and the job's stacking fit the same meta-learner and temperatures on the same rows", async () => {
    // the build fits its members on train and validation together: so does the job here
    const subset = [...train, ...validation];
    const crossFit = crossFitZoo(splitCorpus(subset));
    const built: MetaLearner = crossFit.metaLearner;
    const job = await stackingStep(zoo, dataset(subset), FOLDS, async () => {
      throw new Error('the zoo has no frozen members');
    });
    expect(job.rows.folds).toEqual(crossFit.rows.folds);
    // the served refits are calibrated alike: the geometric mean of the same fold temperatures
    crossFit.members.forEach((m, i) => {
      const member = job.members[i];
      if (member?.kind !== 'retrain') throw new Error(`${m.def.id} is not retrained`);
      expect(servingTemperature(job.foldTemperatures[i] ?? [])).toBe(m.model.temperature);
    });
    expect(zoo.members.map((m) => m.id)).toEqual(ZOO.map((d) => d.id));
    expect(job.metaLearner.members).toEqual(built.members);
    expect(job.metaLearner.coef).toEqual(built.coef);
    expect(job.metaLearner.intercept).toEqual(built.intercept);
    expect(built.coef.flat().some((v) => v !== 0)).toBe(true);
  }, 240_000);

  it('the job serves the refits its meta-learner was fitted for: held-out log-loss near the cross-validated one', async () => {
    const job = await stackingStep(zoo, dataset(train), FOLDS, async () => {
      throw new Error('the zoo has no frozen members');
    });
    const labels = validation.map((m) => m.label);
    const served = zoo.members.map((spec, i) => {
      const member = job.members[i];
      if (member?.kind !== 'retrain') throw new Error(`${spec.id} is not retrained`);
      const texts = validation.map((m) => m.views[member.featurizer.view ?? 'body']);
      const refit = refitMember(member, job.rows, job.foldTemperatures[i] ?? []);
      return {
        ...probabilityMatrix(refit, featurizeForFamily(texts, member.featurizer)),
        abstained: Uint8Array.from(texts, (t) => (abstainsOn(spec, t) ? 1 : 0)),
      };
    });
    const heldOut = meanLogLoss(fuseMatrices('stacking', served, { metaLearner: job.metaLearner }), labels);
    const crossValidated = meanLogLoss(job.cv, job.rows.labels);
    // Fitted on fold models but applied to other models (the regression), the job's validation
    // log-loss was 2.14 against 0.085; on the served refits the two agree within the noise of 57
    // validation rows, where one confident miss moves the mean by ~0.15 (measured: 0.31 held out
    // with four members and with five, cross-validated 0.17 and 0.10).
    expect(heldOut).toBeLessThan(crossValidated + 0.3);
    expect(heldOut).toBeLessThan(0.5);
  }, 240_000);

  it('a member that cannot be retrained: the meta-learner learns on validation only, out of fold', async () => {
    // 400 validation rows (pairs share a near-duplicate key), then 100 test rows whose answers are NaN:
    // reading any test row would poison the fit.
    const rng = createRng(11);
    const nVal = 400;
    const y = Array.from({ length: nVal + 100 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const member = (p: (label: number) => number) => {
      const data = new Float64Array(y.length * 2);
      y.forEach((label, i) => {
        const q = i < nVal ? p(label) : Number.NaN;
        data.set([1 - q, q], 2 * i);
      });
      return { n: y.length, c: 2, data };
    };
    const informed = member((label) => (label === 1 ? 0.6 + 0.35 * rng() : 0.05 + 0.35 * rng()));
    const noise = member(() => 0.1 + 0.8 * rng());
    const corpus = y.map((_, i) => ({ dupKey: `group-${Math.floor(i / 2)}` }) as CorpusMessage);
    const valPos = Array.from({ length: nVal }, (_, i) => i);
    const members = [
      { id: 'informed', probs: informed },
      { id: 'noise', probs: noise },
    ];
    const { metaLearner, crossFitted } = await stackOnValidation(
      { corpus, scored: y.map((_, i) => i), valPos, yVal: y.slice(0, nVal) },
      members,
      {},
    );
    // The fit is done; the test rows get answers now, so the meta-learner can be applied to them.
    for (const m of [informed, noise]) m.data.fill(0.5, 2 * nVal);
    const all = crossFitted();
    expect(all.n).toBe(y.length);
    const cv = selectRows(all, valPos);
    expect(metaLearner.members).toEqual(['informed', 'noise']);
    expect(metaLearner.coef.flat().every(Number.isFinite)).toBe(true);
    // spam row; features member after member: [informed log-odds, abstained, noise log-odds, abstained]
    const spam = metaLearner.coef[1] as number[];
    expect(spam[0] as number).toBeGreaterThan(0);
    expect(Math.abs(spam[0] as number)).toBeGreaterThan(5 * Math.abs(spam[2] as number));
    expect(cv.n).toBe(nVal);
    expect(meanLogLoss(cv, y.slice(0, nVal))).toBeLessThan(0.3);
    // validation rows are answered by meta-learners fitted without their fold, not in-sample
    const inSample = selectRows(
      fuseMatrices(
        'stacking',
        members.map((m) => m.probs),
        { metaLearner },
      ),
      valPos,
    );
    expect(Array.from(cv.data)).not.toEqual(Array.from(inSample.data));
    expect(() => crossFitted('first-sentence')).toThrow(/first-sentence/);
  });
});
