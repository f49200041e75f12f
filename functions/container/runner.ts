import {
  type EnsembleManifest,
  type JobEnvelope,
  JobEnvelopeSchema,
  type JobReport,
  JobReportSchema,
  type JobStatus,
  JobStatusSchema,
} from '../../lib/schema';
import { type BlobStore, getJson, JOBS_PREFIX, jobKeys, jobOfStatusKey, putJson } from '../../lib/store';
import type { Evaluator } from '../../lib/train';
import type { EdgeClient } from './edge-client';
import type { JobOutcome } from './kit/context';
import { runJobKind } from './registry';
import { renderReportHtml } from './report-html';

const TERMINAL = new Set(['succeeded', 'gated', 'failed']);

export interface RunnerOptions {
  maxAttempts: number;
  /** tests only: pause after each progress step so a job can be killed mid-way */
  stepDelayMs: number;
  /** what the evaluator's sessions actually ran on so far (`cpu`, `cuda`, `cuda+cpu`) */
  executionProvider: () => string;
}

/**
 * Runs jobs and keeps jobs/{id}/status.json current. Artifacts go to the bucket first; only then
 * is the edge asked to publish (signed), and a resumed job that finds its own job id on the
 * current version does not publish twice. On start, jobs left running by a dead container are
 * resumed (they are deterministic and their artifacts content-addressed) or, after
 * `maxAttempts`, marked failed with the reason.
 */
export class JobRunner {
  private readonly running = new Map<string, Promise<void>>();
  /** The last status this runner wrote for each job it holds: answered without a bucket read. */
  private readonly latest = new Map<string, JobStatus>();

  constructor(
    private readonly store: BlobStore,
    private readonly evaluator: Evaluator,
    private readonly edge: EdgeClient,
    private readonly options: RunnerOptions,
  ) {}

  async status(id: string): Promise<JobStatus | null> {
    // A job this runner holds is answered from memory: reading status.json back while the runner is
    // rewriting it can see a half-written object on a store without atomic puts (the local one).
    const held = this.latest.get(id);
    if (held) return held;
    const raw = await getJson(this.store, jobKeys(id).status);
    return raw === null ? null : JobStatusSchema.parse(raw);
  }

  private async write(status: JobStatus): Promise<void> {
    const stamped = { ...status, updatedAt: new Date().toISOString() };
    if (this.latest.has(status.id)) this.latest.set(status.id, stamped);
    await putJson(this.store, jobKeys(status.id).status, stamped);
  }

  /** Accepts a job (idempotent: a redelivered envelope returns the existing status). */
  async submit(envelope: JobEnvelope): Promise<JobStatus> {
    const existing = await this.status(envelope.id);
    if (existing && (TERMINAL.has(existing.phase) || this.running.has(envelope.id))) return existing;
    await putJson(this.store, jobKeys(envelope.id).spec, envelope);
    const status: JobStatus = {
      id: envelope.id,
      kind: envelope.spec.kind,
      ensemble: envelope.spec.ensemble,
      phase: 'queued',
      progress: 0,
      step: 'queued',
      executionProvider: this.options.executionProvider(),
      attempts: existing?.attempts ?? 0,
      updatedAt: new Date().toISOString(),
    };
    await this.write(status);
    this.start(envelope, status);
    return status;
  }

  /** Jobs a previous container left unfinished: resume or fail them. */
  async resumeInterrupted(): Promise<string[]> {
    const ids = (await this.store.list(JOBS_PREFIX)).map(jobOfStatusKey).filter((id): id is string => id !== null);
    const resumed: string[] = [];
    for (const id of ids) {
      const status = await this.status(id);
      if (!status || TERMINAL.has(status.phase) || this.running.has(id)) continue;
      const envelope = JobEnvelopeSchema.parse(await getJson(this.store, jobKeys(id).spec));
      if (status.attempts >= this.options.maxAttempts) {
        await this.write({
          ...status,
          phase: 'failed',
          error: `the container stopped during the job ${status.attempts} time(s) (last step: ${status.step}); nothing was published`,
        });
        continue;
      }
      resumed.push(id);
      this.start(envelope, { ...status, step: `resumed after a container restart (${status.step})` });
    }
    return resumed;
  }

  /** Resolves when every job started by this runner has settled (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private start(envelope: JobEnvelope, status: JobStatus): void {
    this.latest.set(envelope.id, status);
    const run = this.run(envelope, status).finally(() => {
      this.running.delete(envelope.id);
      this.latest.delete(envelope.id);
    });
    this.running.set(envelope.id, run);
  }

  /** report.json (validated against the shared schema first), report.html and the candidate. */
  private async writeArtifacts(
    envelope: JobEnvelope,
    base: EnsembleManifest,
    outcome: JobOutcome,
    started: number,
  ): Promise<void> {
    const { id, spec } = envelope;
    const keys = jobKeys(id);
    const report: JobReport = JobReportSchema.parse({
      id,
      kind: spec.kind,
      ensemble: spec.ensemble,
      baseVersion: base.version,
      ...outcome.report,
      gate: outcome.gate,
      executionProvider: this.options.executionProvider(),
      wallSeconds: (Date.now() - started) / 1000,
    });
    await putJson(this.store, keys.report, report);
    await this.store.put(keys.reportHtml, await renderReportHtml(report), { contentType: 'text/html; charset=utf-8' });
    if (outcome.candidate) await putJson(this.store, keys.candidate, outcome.candidate);
  }

  private async run(envelope: JobEnvelope, initial: JobStatus): Promise<void> {
    const { id, spec } = envelope;
    const started = Date.now();
    // every write of this attempt carries the compute time so far: a restart keeps what ran before it
    const before = initial.computeSeconds ?? 0;
    const write = (s: JobStatus) =>
      this.write({ ...s, computeSeconds: Math.round((before + (Date.now() - started) / 1000) * 1000) / 1000 });
    let status: JobStatus = { ...initial, phase: 'running', attempts: initial.attempts + 1 };
    await write(status);
    try {
      const { manifest } = await this.edge.current(spec.ensemble);
      if (manifest.provenance.jobId === id) {
        // A previous attempt published and died before recording it.
        await write({
          ...status,
          phase: 'succeeded',
          progress: 1,
          step: 'already published',
          publishedVersion: manifest.version,
        });
        return;
      }
      const outcome = await runJobKind(spec.kind, {
        id,
        spec,
        store: this.store,
        evaluator: this.evaluator,
        manifest,
        progress: async (step, fraction) => {
          status = { ...status, step, progress: Math.max(status.progress, Math.min(1, fraction)) };
          await write(status);
          // Fault-injection knob for crash tests: widen the window in which a job is mid-way.
          if (this.options.stepDelayMs) await new Promise((r) => setTimeout(r, this.options.stepDelayMs));
        },
      });
      await this.writeArtifacts(envelope, manifest, outcome, started);
      if (!outcome.gate.passed || !outcome.candidate || !spec.publish) {
        await write({
          ...status,
          phase: outcome.gate.passed ? 'succeeded' : 'gated',
          progress: 1,
          step: outcome.gate.passed
            ? 'done (not published: publish=false)'
            : 'quality gate failed: kept as an artifact, not published',
          gate: outcome.gate,
        });
        return;
      }
      status = {
        ...status,
        phase: 'publishing',
        step: 'asking the edge to publish',
        progress: 0.95,
        gate: outcome.gate,
      };
      await write(status);
      const version = await this.edge.publish(outcome.candidate);
      await write({
        ...status,
        phase: 'succeeded',
        progress: 1,
        step: `published version ${version}`,
        publishedVersion: version,
      });
    } catch (e) {
      await write({ ...status, phase: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  }
}
