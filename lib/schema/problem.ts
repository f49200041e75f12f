import { z } from 'zod';

/**
 * Every problem `code` Chorus answers, with its status and meaning: the documented list that
 * README, the OpenAPI document and the boundary fuzz test read. A code not listed here is a bug.
 */
export const PROBLEM_CODES = {
  validation_failed: [400, 'the request does not match the schema (zod issues attached)'],
  malformed_json: [400, 'the body is not valid JSON'],
  malformed_request: [400, 'the request cannot be read (e.g. a body the runtime refuses)'],
  invalid_input: [400, 'an input does not match the ensemble’s input spec; every offending inputs[i] is listed'],
  invalid_argument: [400, 'an argument is out of range or inconsistent'],
  invalid_manifest: [
    400,
    'the manifest cannot answer: names, dtypes or shapes disagree with a graph, or fusion is malformed',
  ],
  unknown_strategy: [400, 'the requested fusion strategy is not available for this ensemble'],
  not_onnx: [400, 'the upload is not a model onnxruntime can load'],
  not_tokenizer: [400, 'the upload is not a tokenizer.json that @huggingface/tokenizers can build'],
  model_missing: [400, 'a member’s model is not stored with the declared bytes'],
  name_mismatch: [400, 'the manifest’s name differs from the path'],
  unauthorized: [401, 'no valid credential (missing, unknown, revoked, or a bad signature)'],
  forbidden: [403, 'the credential does not grant this route or ensemble'],
  budget_exhausted: [402, 'the key’s prepaid units do not cover this request (top up its credit)'],
  rate_limited: [429, 'the key’s (or, anonymously, the client’s) rate limit is spent; retry after Retry-After seconds'],
  not_found: [404, 'no such ensemble, version, job or batch'],
  ensemble_archived: [404, 'the ensemble is archived: it does not serve until restored (its versions are kept)'],
  route_not_found: [404, 'no route for this path'],
  method_not_allowed: [405, 'the path exists but not for this method (see Allow)'],
  version_conflict: [409, 'the published version is not latest + 1'],
  already_archived: [409, 'the ensemble is already archived'],
  not_archived: [409, 'the ensemble is not archived, so there is nothing to restore'],
  batch_not_ready: [409, 'the batch has not finished: its results and errors files do not exist yet'],
  unknown_version: [404, 'the version was never published'],
  payload_too_large: [413, 'the body exceeds the route’s limit'],
  input_limit_exceeded: [413, 'an input exceeds a structural limit (MIME depth, parts, headers)'],
  unsupported_media_type: [415, 'the body’s media type is not one the route takes'],
  raw_message_not_accepted: [
    415,
    'a message/rfc822 body was sent to an ensemble whose input spec has not exactly one rfc822 field (send JSON)',
  ],
  model_integrity: [502, 'a stored model does not match its sha256'],
  no_healthy_member: [503, 'fewer members answered than the ensemble’s quorum'],
  container_unavailable: [503, 'the container function did not accept the job'],
  internal: [500, 'an unexpected error (a bug; reported with no internals)'],
} as const satisfies Record<string, readonly [number, string]>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export const isProblemCode = (code: string): code is ProblemCode => Object.hasOwn(PROBLEM_CODES, code);

/** RFC 9457 problem details, as every Chorus service answers errors. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    /** stable, documented machine-readable code (PROBLEM_CODES) */
    code: z.enum(Object.keys(PROBLEM_CODES) as [ProblemCode, ...ProblemCode[]]),
    detail: z.string(),
    instance: z.string().optional(),
  })
  .passthrough();

export type Problem = z.infer<typeof ProblemSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The body of a problem+json answer; both the edge and the container build errors with it. */
export function problemBody(
  status: number,
  code: ProblemCode,
  detail: string,
  instance?: string,
  extra: Record<string, unknown> = {},
): Problem {
  return {
    type: `https://chorus.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...(instance === undefined ? {} : { instance }),
    ...extra,
  };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** How much of a validation failure an answer or an errors record carries. */
export const ISSUE_LIMITS = { issues: 20, messageChars: 300 } as const;

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * zod's issues, bounded for an answer: the first ISSUE_LIMITS.issues, each message cut (a strict
 * object's unknown keys make one issue whose message lists every key: 1 MB for a 1 MiB body),
 * and how many were left out.
 */
export function issuesOf(issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[]): {
  issues: { path: string[]; message: string; code: string }[];
  issues_omitted?: number;
} {
  const kept = issues.slice(0, ISSUE_LIMITS.issues).map((i) => ({
    path: i.path.slice(0, 16).map((p) => cut(String(p), 64)),
    message: cut(i.message, ISSUE_LIMITS.messageChars),
    code: i.code,
  }));
  const omitted = issues.length - kept.length;
  return omitted > 0 ? { issues: kept, issues_omitted: omitted } : { issues: kept };
}

/** The same issues as one line of text ("path: message; …"). */
export const issuesText = (issues: Parameters<typeof issuesOf>[0], root = '(root)'): string => {
  const { issues: kept, issues_omitted } = issuesOf(issues);
  const text = kept.map((i) => `${i.path.join('.') || root}: ${i.message}`).join('; ');
  return issues_omitted ? `${text}; and ${issues_omitted} more` : text;
};
