import type { JobEnvelope, JobSpec, JobStatus } from '../../lib/schema';
import { JobEnvelopeSchema, JobStatusSchema } from '../../lib/schema';
import { type BlobStore, getJson, putJson } from '../../lib/store';
import type { EdgeClient } from './edge-client';
import { buildMembers } from './jobs/build-members';
import { compress } from './jobs/compress';
import type { JobContext, JobOutcome } from './jobs/context';
import { distill } from './jobs/distill';
import { fitWeights } from './jobs/fit-weights';
import { stack } from './jobs/stack';
import { type JobReport, renderReportHtml } from './report';
import type { Scorer } from './scoring';

const statusKey = (id: string) => `jobs/${id}/status.json`;
const specKey = (id: string) => `jobs/${id}/spec.json`;
const TERMINAL = new Set(['succeeded', 'gated', 'failed']);

function runKind(ctx: JobContext, spec: JobSpec): Promise<JobOutcome> {
  switch (spec.kind) {
    case 'fit-weights':
      return fitWeights(ctx, spec);
    case 'stack':
      return stack(ctx, spec);
    case 'compress':
      return compress(ctx, spec);
    case 'distill':
      return distill(ctx, spec);
    case 'build-members':
      return buildMembers(ctx, spec);
  }
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

  constructor(
    private readonly store: BlobStore,
    private readonly scorer: Scorer,
    private readonly edge: EdgeClient,
    private readonly options: { maxAttempts: number; stepDelayMs?: number },
  ) {}

  async status(id: string): Promise<JobStatus | null> {
    const raw = await getJson(this.store, statusKey(id));
    return raw === null ? null : JobStatusSchema.parse(raw);
  }

  private async write(status: JobStatus): Promise<void> {
    await putJson(this.store, statusKey(status.id), { ...status, updatedAt: new Date().toISOString() });
  }

  /** Accepts a job (idempotent: a redelivered envelope returns the existing status). */
  async submit(envelope: JobEnvelope): Promise<JobStatus> {
    const existing = await this.status(envelope.id);
    if (existing && (TERMINAL.has(existing.phase) || this.running.has(envelope.id))) return existing;
    await putJson(this.store, specKey(envelope.id), envelope);
    const status: JobStatus = {
      id: envelope.id,
      kind: envelope.spec.kind,
      ensemble: envelope.spec.ensemble,
      phase: 'queued',
      progress: 0,
      step: 'queued',
      executionProvider: this.scorer.executionProvider,
      attempts: existing?.attempts ?? 0,
      updatedAt: new Date().toISOString(),
    };
    await this.write(status);
    this.start(envelope, status);
    return status;
  }

  /** Jobs a previous container left unfinished: resume or fail them. */
  async resumeInterrupted(): Promise<string[]> {
    const keys = (await this.store.list('jobs/')).filter((k) => k.endsWith('/status.json'));
    const resumed: string[] = [];
    for (const key of keys) {
      const status = JobStatusSchema.parse(await getJson(this.store, key));
      if (TERMINAL.has(status.phase) || this.running.has(status.id)) continue;
      const envelope = JobEnvelopeSchema.parse(await getJson(this.store, specKey(status.id)));
      if (status.attempts >= this.options.maxAttempts) {
        await this.write({
          ...status,
          phase: 'failed',
          error: `the container stopped during the job ${status.attempts} time(s) (last step: ${status.step}); nothing was published`,
        });
        continue;
      }
      resumed.push(status.id);
      this.start(envelope, { ...status, step: `resumed after a container restart (${status.step})` });
    }
    return resumed;
  }

  /** Resolves when every job started by this runner has settled (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private start(envelope: JobEnvelope, status: JobStatus): void {
    const run = this.run(envelope, status).finally(() => this.running.delete(envelope.id));
    this.running.set(envelope.id, run);
  }

  private async run(envelope: JobEnvelope, initial: JobStatus): Promise<void> {
    const { id, spec } = envelope;
    const started = Date.now();
    let status: JobStatus = { ...initial, phase: 'running', attempts: initial.attempts + 1 };
    await this.write(status);
    try {
      const { manifest } = await this.edge.current(spec.ensemble);
      const ctx: JobContext = {
        id,
        spec,
        store: this.store,
        scorer: this.scorer,
        manifest,
        progress: async (step, fraction) => {
          status = { ...status, step, progress: Math.max(status.progress, Math.min(1, fraction)) };
          await this.write(status);
          // Fault-injection knob for crash tests: widen the window in which a job is mid-way.
          if (this.options.stepDelayMs) await new Promise((r) => setTimeout(r, this.options.stepDelayMs));
        },
      };
      const outcome = manifest.provenance.jobId === id ? null : await runKind(ctx, spec);
      if (!outcome) {
        // A previous attempt published and died before recording it.
        await this.write({
          ...status,
          phase: 'succeeded',
          progress: 1,
          step: 'already published',
          publishedVersion: manifest.version,
        });
        return;
      }
      const report: JobReport = {
        id,
        kind: spec.kind,
        ensemble: spec.ensemble,
        baseVersion: manifest.version,
        ...outcome.report,
        gate: outcome.gate,
        executionProvider: this.scorer.executionProvider,
        wallSeconds: (Date.now() - started) / 1000,
      };
      await putJson(this.store, `jobs/${id}/report.json`, report);
      await this.store.put(`jobs/${id}/report.html`, renderReportHtml(report), {
        contentType: 'text/html; charset=utf-8',
      });
      if (outcome.candidate) await putJson(this.store, `jobs/${id}/candidate.json`, outcome.candidate);
      if (!outcome.gate.passed || !outcome.candidate || !spec.publish) {
        await this.write({
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
      await this.write(status);
      const version = await this.edge.publish(outcome.candidate);
      await this.write({
        ...status,
        phase: 'succeeded',
        progress: 1,
        step: `published version ${version}`,
        publishedVersion: version,
      });
    } catch (e) {
      await this.write({ ...status, phase: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  }
}
