import { beforeAll, describe, expect, it } from 'vitest';
import { expectClose } from '../helpers/close';
import { call, postJson, reference, seedZoo, spamManifest } from './zoo';

beforeAll(async () => {
  await seedZoo();
});

const probs = (p: Record<string, number>) => spamManifest.labels.map((l) => p[l] as number);

describe('predict on the spam ensemble inside workerd', () => {
  it('health reports the wasm backend', async () => {
    const res = await call('/healthz');
    expect(await res.json()).toEqual({ ok: true, backend: 'onnxruntime-web/wasm' });
  });

  it('returns the Node-side reference probabilities (1e-5) for members and the default fusion', async () => {
    const res = await postJson('/v1/ensembles/spam/predict', {
      inputs: reference.map((r) => ({ message: r.message })),
      return_members: true,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      version: number;
      strategy: string;
      predictions: {
        label: string;
        probabilities: Record<string, number>;
        members: Record<string, Record<string, number>>;
      }[];
      ran: string[];
      degraded: unknown[];
      usage: { units: number; inputs: number };
    };
    expect(body.version).toBe(1);
    expect(body.strategy).toBe(spamManifest.fusion.strategy);
    expect(body.degraded).toEqual([]);
    expect(body.ran).toEqual(spamManifest.members.map((m) => m.id));
    expect(body.usage.inputs).toBe(reference.length);
    body.predictions.forEach((p, i) => {
      const ref = reference[i];
      if (!ref) throw new Error('missing reference');
      expectClose(probs(p.probabilities), ref.fused.default, 1e-5);
      for (const [id, expected] of Object.entries(ref.members)) {
        expectClose(probs(p.members[id] ?? {}), expected, 1e-5);
      }
    });
  });

  it.each(['hard', 'soft', 'geometric', 'stacking'] as const)(
    'strategy %s is reachable and matches the reference',
    async (strategy) => {
      const res = await postJson('/v1/ensembles/spam/predict', {
        inputs: reference.slice(0, 3).map((r) => ({ message: r.message })),
        strategy,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { strategy: string; predictions: { probabilities: Record<string, number> }[] };
      expect(body.strategy).toBe(strategy);
      body.predictions.forEach((p, i) => {
        expectClose(probs(p.probabilities), reference[i]?.fused[strategy] ?? [], 1e-5);
      });
    },
  );

  it('the query options apply to a JSON body too; a body that contradicts them is a 400', async () => {
    const inputs = reference.slice(0, 2).map((r) => ({ message: r.message }));
    const viaQuery = await postJson('/v1/ensembles/spam/predict?strategy=hard&return_members=true', { inputs });
    expect(viaQuery.status).toBe(200);
    const body = (await viaQuery.json()) as {
      strategy: string;
      predictions: { probabilities: Record<string, number>; members?: Record<string, unknown> }[];
    };
    expect(body.strategy).toBe('hard');
    expect(Object.keys(body.predictions[0]?.members ?? {})).toHaveLength(spamManifest.members.length);
    body.predictions.forEach((p, i) => {
      expectClose(probs(p.probabilities), reference[i]?.fused.hard ?? [], 1e-5);
    });
    const same = await postJson('/v1/ensembles/spam/predict?strategy=hard', { inputs, strategy: 'hard' });
    expect(same.status).toBe(200);
    const clash = await postJson('/v1/ensembles/spam/predict?strategy=hard', { inputs, strategy: 'soft' });
    expect(clash.status).toBe(400);
    expect(((await clash.json()) as { code: string }).code).toBe('validation_failed');
  });
});
