import { z } from 'zod';

/** RFC 9457 problem details, as every Chorus service answers errors. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    /** stable, documented machine-readable code */
    code: z.string(),
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
  code: string,
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
