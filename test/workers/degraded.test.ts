import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnsembleManifest } from '../../lib/schema';
import { modelKey, sha256Hex } from '../../lib/store';
import { ADMIN, postJson, putJson, reference, seedZoo, spamManifest } from './zoo';

/**
 * A copy of the spam manifest whose listed members are published sound and then rot in the
 * bucket (same length, other bytes), as storage corruption would: publish checks every graph, so
 * the damage happens after it. Each member gets a copy of its own (an ignored protobuf field
 * appended: same graph, another sha256) so the shared zoo objects stay intact.
 */
async function withCorruptMembers(name: string, ids: string[], extra: Partial<EnsembleManifest['fusion']> = {}) {
  const manifest = structuredClone(spamManifest);
  manifest.name = name;
  manifest.fusion = { ...manifest.fusion, ...extra };
  const rot: { key: string; bytes: Uint8Array }[] = [];
  for (const member of manifest.members) {
    if (!ids.includes(member.id)) continue;
    const original = new Uint8Array(await ((await env.BUCKET.get(member.model.key)) as R2ObjectBody).arrayBuffer());
    const copy = new Uint8Array(original.length + 3);
    copy.set(original);
    copy.set([0xc0, 0x3e, 0x01], original.length); // field 1000 (varint) = 1: unknown to ONNX, ignored
    const sha = await sha256Hex(copy);
    await env.BUCKET.put(modelKey(sha), copy);
    member.model = { key: modelKey(sha), sha256: sha, bytes: copy.length };
    const rotten = copy.slice();
    rotten[rotten.length - 10] = (rotten[rotten.length - 10] ?? 0) ^ 0xff;
    rot.push({ key: modelKey(sha), bytes: rotten });
  }
  const res = await putJson(`/v1/ensembles/${name}`, manifest);
  expect(res.status).toBe(201);
  for (const r of rot) await env.BUCKET.put(r.key, r.bytes);
  return manifest;
}

beforeAll(async () => {
  await seedZoo();
});

describe('degraded mode', () => {
  it('a member whose bytes no longer match its sha256 is dropped, weights renormalised, answer still given', async () => {
    await withCorruptMembers('spam-degraded', ['body-logreg']);
    const res = await postJson('/v1/ensembles/spam-degraded/predict', {
      inputs: [{ message: reference[0]?.message }],
      strategy: 'soft',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      degraded: { member: string; reason: string }[];
      ran: string[];
      predictions: { probabilities: Record<string, number> }[];
    };
    expect(body.degraded).toHaveLength(1);
    expect(body.degraded[0]?.member).toBe('body-logreg');
    expect(body.degraded[0]?.reason).toMatch(/^model_integrity: .* has sha256 /);
    expect(body.ran).not.toContain('body-logreg');
    const p = body.predictions[0]?.probabilities ?? {};
    expect((p.ham ?? 0) + (p.spam ?? 0)).toBeCloseTo(1, 9);
  });

  it('stacking without one of its members falls back to a soft vote and says so', async () => {
    const res = await postJson('/v1/ensembles/spam-degraded/predict', {
      inputs: [{ message: reference[1]?.message }],
      strategy: 'stacking',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { strategy: string }).strategy).toBe('soft');
  });

  it('fewer survivors than the quorum is a 503 problem naming the dropped members', async () => {
    // three of five corrupt: two survive, one fewer than the quorum
    await withCorruptMembers('spam-quorum', ['body-logreg', 'urls-logreg', 'headers-logreg'], { quorum: 3 });
    const res = await postJson('/v1/ensembles/spam-quorum/predict', {
      inputs: [{ message: 'Subject: hi\r\n\r\nhello' }],
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { code: string; details: { degraded: { member: string }[] } };
    expect(problem.code).toBe('no_healthy_member');
    expect(problem.details.degraded.map((d) => d.member).sort()).toEqual([
      'body-logreg',
      'headers-logreg',
      'urls-logreg',
    ]);
  });

  it('fewer survivors than fusion.minAnswering is a 503 too, not a 200 that can only be the prior', async () => {
    // four of five corrupt, quorum 1: the survivor alone can never answer an input that needs two
    await withCorruptMembers('spam-min-answering', ['body-logreg', 'urls-logreg', 'headers-logreg', 'message-logreg'], {
      quorum: 1,
      minAnswering: 2,
    });
    const res = await postJson(
      '/v1/ensembles/spam-min-answering/predict',
      { inputs: [{ message: reference[0]?.message }] },
      ADMIN,
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('no_healthy_member');
  });

  it('none of fusion.requireAnyOf surviving is a 503 too, though enough others answer', async () => {
    // the body members corrupt: headers-logreg and message-logreg answer, two, enough for the quorum
    const required = ['body-chars-fasttext', 'urls-logreg', 'body-logreg'];
    await withCorruptMembers('spam-require-any', required, { requireAnyOf: required });
    const res = await postJson(
      '/v1/ensembles/spam-require-any/predict',
      { inputs: [{ message: reference[0]?.message }] },
      ADMIN,
    );
    expect(res.status).toBe(503);
    const problem = (await res.json()) as { code: string; details: { degraded: { member: string }[] } };
    expect(problem.code).toBe('no_healthy_member');
    expect(problem.details.degraded.map((d) => d.member).sort()).toEqual([...required].sort());
  });
});

describe('cascade', () => {
  it('runs members cheapest first and stops once the fused margin clears the threshold', async () => {
    const manifest = { ...structuredClone(spamManifest), name: 'spam-cascade' };
    manifest.fusion = { ...manifest.fusion, cascadeThreshold: 0.5, quorum: 2 };
    expect((await putJson('/v1/ensembles/spam-cascade', manifest)).status).toBe(201);
    const spam = reference.find((r) => r.label === 'spam' && (r.fused.soft[1] ?? 0) > 0.9) ?? reference[0];
    const res = await postJson('/v1/ensembles/spam-cascade/predict', { inputs: [{ message: spam?.message }] });
    const body = (await res.json()) as { ran: string[]; usage: { units: number } };
    const cheapest = [...spamManifest.members].sort((a, b) => a.costUnits - b.costUnits).map((m) => m.id);
    expect(body.ran.length).toBeLessThan(spamManifest.members.length);
    expect(body.ran.length).toBeGreaterThanOrEqual(2);
    expect([...body.ran].sort()).toEqual(cheapest.slice(0, body.ran.length).sort());
    const all = spamManifest.members.reduce((s, m) => s + m.costUnits, 0);
    expect(body.usage.units).toBeLessThan(all);
  });

  it('an input is not stopped at the prior while its cheapest members abstain', async () => {
    // the prior's margin (about 0.38) clears this threshold: only an answer of members may stop an input
    const manifest = { ...structuredClone(spamManifest), name: 'spam-cascade-low' };
    manifest.fusion = { ...manifest.fusion, cascadeThreshold: 0.2 };
    expect((await putJson('/v1/ensembles/spam-cascade-low', manifest)).status).toBe(201);
    // no subject, no sender name and no URL: the two cheapest members (headers, URLs) abstain
    const message =
      'To: someone@example.org\n\nBuy viagra cialis and other meds at the lowest prices! No prescription needed. Fast discreet shipping worldwide. Order now and save eighty percent today!';
    const res = await postJson('/v1/ensembles/spam-cascade-low/predict', { inputs: [{ message }] }, ADMIN);
    const [p] = ((await res.json()) as { predictions: { label: string; abstained: unknown; ran: string[] }[] })
      .predictions;
    expect(p?.abstained).not.toBe('all');
    expect(p?.label).toBe('spam');
    expect(p?.ran.length).toBeGreaterThanOrEqual(2);
  });

  it('an input that too few members will ever answer waits for nothing: the call stops where the others would', async () => {
    type Answer = { ran: string[]; usage: { units: number }; predictions: { abstained: unknown; ran: string[] }[] };
    const spam = reference.find((r) => r.label === 'spam' && (r.fused.soft[1] ?? 0) > 0.9) ?? reference[0];
    const ask = async (messages: string[]) =>
      (await (
        await postJson(
          '/v1/ensembles/spam-cascade/predict',
          { inputs: messages.map((message) => ({ message })) },
          ADMIN,
        )
      ).json()) as Answer;
    const alone = await ask([spam?.message ?? '']);
    // only the header member answers a bare note: below the zoo's minAnswering, it is the prior whatever runs
    // a subject and sender name of five words and more: two members answer, none from the body
    const reply = 'From: Bob Stone <bob@example.com>\nSubject: Re: your account settings\n\nthanks!';
    const together = await ask(['Subject: hi\n\nthanks!', reply, spam?.message ?? '']);
    expect(alone.ran.length).toBeLessThan(spamManifest.members.length);
    expect(together.ran).toEqual(alone.ran);
    expect(together.predictions[0]).toMatchObject({ abstained: 'all', ran: [] });
    expect(together.predictions[1]).toMatchObject({ abstained: 'all', ran: [] });
    expect(together.predictions[2]?.ran).toEqual(alone.predictions[0]?.ran);
    expect(together.usage.units).toBe(alone.usage.units);
  });

  it('a call of inputs only the prior can answer is a 200 at quorum 1, though fewer than minAnswering ran', async () => {
    const manifest = { ...structuredClone(spamManifest), name: 'spam-cascade-q1' };
    manifest.fusion = { ...manifest.fusion, cascadeThreshold: 0.5, quorum: 1 };
    expect((await putJson('/v1/ensembles/spam-cascade-q1', manifest)).status).toBe(201);
    const res = await postJson(
      '/v1/ensembles/spam-cascade-q1/predict',
      { inputs: [{ message: 'Subject: hi\n\nthanks!' }] },
      ADMIN,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ran: string[]; predictions: { abstained: unknown; label: string }[] };
    expect(body.predictions[0]).toMatchObject({ abstained: 'all', label: 'ham' });
    expect(body.ran.length).toBeLessThan(manifest.fusion.minAnswering ?? 1);
  });

  it('each input is answered and charged as if it came alone, whatever else is in the call', async () => {
    type Answer = {
      predictions: { probabilities: Record<string, number>; ran?: string[] }[];
      usage: { units: number };
    };
    const predict = async (messages: string[]) =>
      (await (
        await postJson('/v1/ensembles/spam-cascade/predict', { inputs: messages.map((message) => ({ message })) })
      ).json()) as Answer;
    const messages = reference.map((r) => r.message);
    const alone = await Promise.all(messages.map((m) => predict([m])));
    const together = await predict(messages);
    // the zoo's reference mail needs different numbers of members: some stop early, some do not
    const cuts = new Set(alone.map((a) => a.predictions[0]?.ran?.length));
    expect(cuts.size).toBeGreaterThan(1);
    together.predictions.forEach((p, i) => {
      const single = alone[i]?.predictions[0];
      expect(p.ran).toEqual(single?.ran);
      for (const [label, q] of Object.entries(p.probabilities))
        expect(q).toBeCloseTo(single?.probabilities[label] ?? -1, 6);
    });
    expect(together.usage.units).toBe(alone.reduce((s, a) => s + a.usage.units, 0));
  });
});
