/**
 * The lifecycle of an ensemble inside workerd: provenance per published version, the diff of two
 * versions, archive/restore (an archived ensemble stops serving and keeps everything), and the
 * models that no live version references.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  ArchiveState,
  EnsembleManifest,
  ManifestDiff,
  UnreferencedModelList,
  VersionList,
} from '../../lib/schema';
import {
  ADMIN,
  bearer,
  call,
  createKey,
  postJson,
  publishTorchMlp,
  putJson,
  reference,
  seedZoo,
  spamManifest,
} from './zoo';

const NAME = 'life';
const zooSize = spamManifest.members.length;
const message = reference[0]?.message ?? '';

/** v1: the zoo as is. v2: one member fewer, manual weights, another threshold, a member's metrics moved. */
function version(n: number, jobId?: string): EnsembleManifest {
  const m = structuredClone(spamManifest);
  m.name = NAME;
  m.version = n;
  m.provenance = { ...m.provenance, ...(jobId ? { jobId } : {}) };
  if (n < 2) return m;
  const [first, second, third] = m.members;
  if (!first || !second || !third) throw new Error('the zoo has at least three members');
  m.members = m.members.filter((member) => member !== third);
  if (second.metrics) second.metrics = { ...second.metrics, accuracy: 0.5 };
  m.fusion = {
    ...m.fusion,
    // an answer may not require a member the version no longer has
    requireAnyOf: m.fusion.requireAnyOf?.filter((id) => id !== third.id),
    strategy: 'soft',
    weights: Object.fromEntries(m.members.map((member) => [member.id, member === first ? 2 : 1])),
    weightsFrom: 'manual',
    metaLearner: undefined,
    calibration: {
      soft: { temperature: 1, decision: { kind: 'threshold', positive: 'spam', threshold: 0.9 } },
    },
  };
  return m;
}

const post = (path: string, headers: Record<string, string> = ADMIN) => call(path, { method: 'POST', headers });
const get = (path: string, headers: Record<string, string> = ADMIN) => call(path, { headers });
const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;
const predict = () => postJson(`/v1/ensembles/${NAME}/predict`, { inputs: [{ message }] }, ADMIN);

let keyId = '';

beforeAll(async () => {
  await seedZoo();
  const admin = await createKey({ name: 'publisher', scopes: ['admin'] });
  keyId = admin.id;
  expect((await putJson(`/v1/ensembles/${NAME}`, version(1))).status).toBe(201);
  expect((await putJson(`/v1/ensembles/${NAME}`, version(2), bearer(admin.key))).status).toBe(201);
  expect((await putJson(`/v1/ensembles/${NAME}`, version(3, 'job-0123abcd'))).status).toBe(201);
});

describe('versions with provenance', () => {
  it('lists every version with who published it, when, from which job, and which is current', async () => {
    const res = await get(`/v1/ensembles/${NAME}/versions`);
    expect(res.status).toBe(200);
    const list = (await res.json()) as VersionList;
    expect(list).toMatchObject({ name: NAME, current: 3, archived: false });
    expect(list.versions.map((v) => [v.version, v.publishedBy, v.jobId, v.members, v.current])).toEqual([
      [1, 'admin-token', null, zooSize, false],
      [2, keyId, null, zooSize - 1, false],
      [3, 'admin-token', 'job-0123abcd', zooSize - 1, true],
    ]);
    for (const v of list.versions) expect(Number.isFinite(Date.parse(v.publishedAt))).toBe(true);
  });

  it('follows a rollback, and answers 404 for an unknown ensemble', async () => {
    expect((await postJson(`/v1/ensembles/${NAME}/rollback`, { version: 2 }, ADMIN)).status).toBe(200);
    const list = (await (await get(`/v1/ensembles/${NAME}/versions`)).json()) as VersionList;
    expect(list.current).toBe(2);
    expect(list.versions.filter((v) => v.current).map((v) => v.version)).toEqual([2]);
    expect((await postJson(`/v1/ensembles/${NAME}/rollback`, { version: 3 }, ADMIN)).status).toBe(200);
    const unknown = await get('/v1/ensembles/no-such-thing/versions');
    expect(unknown.status).toBe(404);
    expect(await codeOf(unknown)).toBe('not_found');
  });
});

describe('diff of two versions', () => {
  it('names members added, removed and changed, weights, decision and metrics', async () => {
    const res = await get(`/v1/ensembles/${NAME}/diff?from=1&to=2`);
    expect(res.status).toBe(200);
    const diff = (await res.json()) as ManifestDiff;
    const ids = spamManifest.members.map((m) => m.id);
    const [first, second, third] = ids;
    expect(diff).toMatchObject({ name: NAME, from: 1, to: 2 });
    expect(diff.members).toEqual({ added: [], removed: [third], changed: [] });
    // v1 weighs its members as the zoo does (equally without weights); v2 drops the third and
    // gives the first 2 where every other member has 1
    const n = ids.length;
    const given = spamManifest.fusion.weights;
    const total = given ? ids.reduce((sum, id) => sum + (given[id] ?? 0), 0) : n;
    const rounded = (w: number | null) => (w === null ? null : Number(w.toFixed(6)));
    expect(diff.weights.map((w) => ({ ...w, before: rounded(w.before), after: rounded(w.after) }))).toEqual(
      ids
        .map((member) => ({
          member,
          before: rounded((given ? (given[member] ?? 0) : 1) / total),
          after: member === third ? null : rounded((member === first ? 2 : 1) / n),
        }))
        .filter((w) => w.before !== w.after),
    );
    expect(diff.decision.changed).toBe(true);
    expect(diff.decision.before.strategy).toBe(spamManifest.fusion.strategy);
    expect(diff.decision.after).toEqual({
      strategy: 'soft',
      temperature: 1,
      decision: { kind: 'threshold', positive: 'spam', threshold: 0.9 },
      cascadeThreshold: null,
      quorum: spamManifest.fusion.quorum,
      minAnswering: spamManifest.fusion.minAnswering ?? 1,
      requireAnyOf: (spamManifest.fusion.requireAnyOf ?? []).filter((id) => id !== spamManifest.members[2]?.id),
    });
    expect(diff.metrics).toContainEqual({
      member: second,
      metric: 'accuracy',
      before: spamManifest.members[1]?.metrics?.accuracy,
      after: 0.5,
    });
  });

  it('of a version with itself is empty; the reverse swaps before and after', async () => {
    const same = (await (await get(`/v1/ensembles/${NAME}/diff?from=2&to=3`)).json()) as ManifestDiff;
    expect(same.members).toEqual({ added: [], removed: [], changed: [] });
    expect(same.weights).toEqual([]);
    expect(same.decision.changed).toBe(false);
    expect(same.metrics).toEqual([]);
    const back = (await (await get(`/v1/ensembles/${NAME}/diff?from=2&to=1`)).json()) as ManifestDiff;
    expect(back.members.added).toEqual([spamManifest.members[2]?.id]);
  });

  it('answers 404 unknown_version for a missing version, not_found for a missing ensemble, 400 for a bad query', async () => {
    const missing = await get(`/v1/ensembles/${NAME}/diff?from=1&to=9`);
    expect(missing.status).toBe(404);
    expect(await codeOf(missing)).toBe('unknown_version');
    const none = await get('/v1/ensembles/no-such-thing/diff?from=1&to=2');
    expect(none.status).toBe(404);
    expect(await codeOf(none)).toBe('not_found');
    const bad = await get(`/v1/ensembles/${NAME}/diff?from=zero&to=2`);
    expect(bad.status).toBe(400);
    expect(await codeOf(bad)).toBe('validation_failed');
  });
});

describe('archive and restore', () => {
  it('archived: predict answers 404 ensemble_archived, the list omits it, versions and manifests stay', async () => {
    expect((await predict()).status).toBe(200);
    const res = await post(`/v1/ensembles/${NAME}/archive`);
    expect(res.status).toBe(200);
    expect((await res.json()) as ArchiveState).toEqual({ name: NAME, archived: true, version: 3 });

    const refused = await predict();
    expect(refused.status).toBe(404);
    expect(await codeOf(refused)).toBe('ensemble_archived');
    const names = async (q = '') =>
      ((await (await get(`/v1/ensembles${q}`)).json()) as { ensembles: { name: string; archived: boolean }[] })
        .ensembles;
    expect((await names()).map((e) => e.name)).not.toContain(NAME);
    expect(await names('?archived=true')).toContainEqual({ name: NAME, version: 3, archived: true });
    const list = (await (await get(`/v1/ensembles/${NAME}/versions`)).json()) as VersionList;
    expect(list.archived).toBe(true);
    expect(list.versions).toHaveLength(3);
    expect(((await (await get(`/v1/ensembles/${NAME}`)).json()) as { version: number }).version).toBe(3);

    const twice = await post(`/v1/ensembles/${NAME}/archive`);
    expect(twice.status).toBe(409);
    expect(await codeOf(twice)).toBe('already_archived');
  });

  it('restore serves the same version again; a second restore is refused', async () => {
    const res = await post(`/v1/ensembles/${NAME}/restore`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: NAME, archived: false, version: 3 });
    const answer = await predict();
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { version: number }).version).toBe(3);
    const again = await post(`/v1/ensembles/${NAME}/restore`);
    expect(again.status).toBe(409);
    expect(await codeOf(again)).toBe('not_archived');
  });

  it('a publish while archived is recorded and served only after restore', async () => {
    expect((await post(`/v1/ensembles/${NAME}/archive`)).status).toBe(200);
    expect((await putJson(`/v1/ensembles/${NAME}`, version(4))).status).toBe(201);
    expect(await codeOf(await predict())).toBe('ensemble_archived');
    const list = (await (await get(`/v1/ensembles/${NAME}/versions`)).json()) as VersionList;
    expect(list).toMatchObject({ current: 4, archived: true });
    expect(await (await post(`/v1/ensembles/${NAME}/restore`)).json()).toEqual({
      name: NAME,
      archived: false,
      version: 4,
    });
    expect(((await (await predict()).json()) as { version: number }).version).toBe(4);
  });

  it('needs the admin scope, and an existing ensemble', async () => {
    expect((await post(`/v1/ensembles/${NAME}/archive`, {})).status).toBe(401);
    const reader = await createKey({ name: 'reader', scopes: ['predict'] });
    expect((await post(`/v1/ensembles/${NAME}/archive`, bearer(reader.key))).status).toBe(403);
    const unknown = await post('/v1/ensembles/no-such-thing/archive');
    expect(unknown.status).toBe(404);
    expect(await codeOf(unknown)).toBe('not_found');
  });
});

describe('unreferenced models', () => {
  const unreferenced = async () => {
    const res = await get('/v1/models?unreferenced=true');
    expect(res.status).toBe(200);
    return ((await res.json()) as UnreferencedModelList).models;
  };

  it('lists models no live version references, with the archived ensembles that still do', async () => {
    const model = await publishTorchMlp('life-byo');
    expect((await unreferenced()).map((m) => m.key)).not.toContain(model.key);
    // the zoo's models are referenced by live versions
    for (const m of spamManifest.members) expect((await unreferenced()).map((x) => x.key)).not.toContain(m.model.key);

    expect((await post('/v1/ensembles/life-byo/archive')).status).toBe(200);
    expect(await unreferenced()).toContainEqual({ ...model, archivedIn: ['life-byo'] });
    expect((await post('/v1/ensembles/life-byo/restore')).status).toBe(200);
    expect((await unreferenced()).map((m) => m.key)).not.toContain(model.key);
  });

  it('is an admin route and needs ?unreferenced=true', async () => {
    expect((await get('/v1/models?unreferenced=true', {})).status).toBe(401);
    const bare = await get('/v1/models');
    expect(bare.status).toBe(400);
    expect(await codeOf(bare)).toBe('validation_failed');
  });
});
