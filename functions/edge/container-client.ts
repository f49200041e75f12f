import { SIGNATURE_HEADER, signRequest } from '../../lib/jobs';
import { type JobEnvelope, JobEnvelopeSchema, type JobStatus, JobStatusSchema, ProblemSchema } from '../../lib/schema';
import type { EdgeEnv } from './env';
import { ApiError } from './problem';

/** The container's job intake (functions/container/app.ts); the signature covers this path. */
const JOBS_PATH = '/jobs';

export type Fetcher = (request: Request) => Promise<Response>;

const unavailable = (detail: string) => new ApiError(503, 'container_unavailable', detail);
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * A job the container would not take. Its own problem for the request (400, 413) is the caller's
 * answer, code and all: retrying cannot help. Anything else is a 503 that names only the status;
 * the container's body (which may carry its internals) is not passed on.
 */
function refusal(status: number, text: string): ApiError {
  if (status === 400 || status === 413) {
    try {
      const problem = ProblemSchema.safeParse(JSON.parse(text));
      if (problem.success) {
        return new ApiError(status, problem.data.code, `the container refused the job: ${problem.data.detail}`);
      }
    } catch {
      // not JSON: a refusal without a reason
    }
  }
  return unavailable(`the container refused the job (HTTP ${status})`);
}

/**
 * The edge's one way to reach the container function: requests are HMAC-signed with the shared
 * JOB_SECRET, envelopes and answers are checked against lib/schema, and anything that goes wrong
 * on the way is a 503 `container_unavailable` (the job was not accepted; the caller may retry).
 */
export class ContainerClient {
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
    // A closure, not `fetch` itself: workerd rejects fetch called with another `this`.
    private readonly fetcher: Fetcher = (request) => fetch(request),
    private readonly timeoutMs = 15_000,
  ) {}

  /** The client for this Worker's bindings; 503 when no container is configured. */
  static fromEnv(env: EdgeEnv): ContainerClient {
    if (!env.CONTAINER_URL || !env.JOB_SECRET) throw unavailable('no container function is configured');
    return new ContainerClient(env.CONTAINER_URL, env.JOB_SECRET);
  }

  /** Hands a job to the container; resolves to the status it accepted the job with. */
  async submit(envelope: JobEnvelope): Promise<JobStatus> {
    const body = JSON.stringify(JobEnvelopeSchema.parse(envelope));
    const { status, text } = await this.post(JOBS_PATH, body);
    if (status !== 202) throw refusal(status, text);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw unavailable('the container answered something other than JSON');
    }
    const accepted = JobStatusSchema.safeParse(answer);
    if (!accepted.success) throw unavailable(`the container answered an invalid job status: ${accepted.error.message}`);
    return accepted.data;
  }

  /** Status and body text of a signed POST; a network failure is a 503 like any other. */
  private async post(path: string, body: string): Promise<{ status: number; text: string }> {
    const request = new Request(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      // a container that accepts the connection and never answers must not hold the caller
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: await signRequest(this.secret, 'POST', path, body),
      },
      body,
    });
    try {
      const res = await this.fetcher(request);
      return { status: res.status, text: await res.text() };
    } catch (e) {
      const late = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw unavailable(
        late
          ? `the container function did not answer within ${this.timeoutMs} ms`
          : `the container function did not answer: ${messageOf(e)}`,
      );
    }
  }
}
