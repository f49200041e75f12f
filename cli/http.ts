/**
 * The CLI's one way to the server: base URL and key, problem+json answers turned into
 * ProblemError (one line with the `code`), unreachable servers into ServerError, and JSON
 * answers checked against the shared zod schemas so a drifted server is reported, not misread.
 */
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, ProblemSchema } from '../lib/schema';
import { ProblemError, ServerError } from './errors';

/** The shared problem shape, with `code` open: a newer server may answer a code this copy lacks. */
const AnyProblemSchema = ProblemSchema.extend({ code: z.string() });

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** a JSON body (sent as application/json) */
  json?: unknown;
  /** a raw body with its media type */
  body?: BodyInit;
  contentType?: string;
}

export interface Connection {
  url: string;
  key?: string | undefined;
}

export class Client {
  readonly url: string;

  constructor(private readonly connection: Connection) {
    this.url = connection.url.replace(/\/+$/, '');
  }

  /** The answer when it is 2xx; otherwise throws ProblemError / ServerError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const target = `${this.url}${path}${query.size ? `?${query}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.connection.key) headers.authorization = `Bearer ${this.connection.key}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.contentType) headers['content-type'] = options.contentType;
    // a streamed body (upload progress) needs half-duplex in Node's fetch
    const init: RequestInit & { duplex?: 'half' } = { method, headers, ...(body === undefined ? {} : { body }) };
    if (body instanceof ReadableStream) init.duplex = 'half';
    let res: Response;
    try {
      res = await fetch(target, init);
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
      const why = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : String(cause);
      throw new ServerError(`cannot reach ${this.url}: ${why}`);
    }
    if (!res.ok) throw await problemOf(res, `${method} ${path}`);
    return res;
  }

  /** A JSON answer validated by `schema`. */
  async json<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<z.infer<S>> {
    const res = await this.request(method, path, options);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
      throw new ServerError(`unexpected answer to ${method} ${path}: ${at}`);
    }
    return parsed.data;
  }

  get = <S extends z.ZodType>(schema: S, path: string, query?: RequestOptions['query']) =>
    this.json(schema, 'GET', path, query ? { query } : {});
}

async function problemOf(res: Response, where: string): Promise<ProblemError> {
  const text = await res.text().catch(() => '');
  const type = res.headers.get('content-type') ?? '';
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below with the start of the text
  }
  const problem = AnyProblemSchema.safeParse(body);
  if (problem.success) {
    return new ProblemError(res.status, problem.data.code, withIssues(problem.data), where, body);
  }
  const hint = type.startsWith(PROBLEM_CONTENT_TYPE) ? 'malformed problem+json' : text.slice(0, 200).trim();
  return new ProblemError(res.status, `http_${res.status}`, hint || res.statusText, where, body);
}

/** validation_failed carries the zod issues: the first one says what to fix. */
function withIssues(problem: z.infer<typeof AnyProblemSchema>): string {
  const issues = (problem as { issues?: unknown }).issues;
  if (!Array.isArray(issues) || issues.length === 0) return problem.detail;
  const first = issues[0] as { path?: unknown[]; message?: string };
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return `${problem.detail}: ${(first.path ?? []).join('.')}: ${first.message ?? ''}${more}`;
}
