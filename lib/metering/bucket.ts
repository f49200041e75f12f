/**
 * Token-bucket rate limiting as pure math: `requests` tokens per `windowSeconds`, refilled
 * continuously, capacity `requests`. The state is whatever the caller persists (a Durable Object
 * row); every function takes `now` so tests need no clock.
 */
export interface BucketPolicy {
  requests: number;
  windowSeconds: number;
}

export interface BucketState {
  tokens: number;
  updatedMs: number;
}

export interface Take {
  allowed: boolean;
  state: BucketState;
  /** whole tokens left after this request */
  remaining: number;
  /** seconds until `cost` tokens are available again (0 when allowed) */
  retryAfterSeconds: number;
  /** seconds until the bucket is full again */
  resetSeconds: number;
}

const ratePerMs = (p: BucketPolicy): number => p.requests / (p.windowSeconds * 1000);

/** The bucket at `nowMs`: refilled since its last update, never above capacity; null = a full bucket. */
export function refill(state: BucketState | null, policy: BucketPolicy, nowMs: number): BucketState {
  if (state === null) return { tokens: policy.requests, updatedMs: nowMs };
  const elapsed = Math.max(0, nowMs - state.updatedMs);
  return { tokens: Math.min(policy.requests, state.tokens + elapsed * ratePerMs(policy)), updatedMs: nowMs };
}

/** Takes `cost` tokens when there are enough; otherwise leaves the bucket and says when to retry. */
export function take(state: BucketState | null, policy: BucketPolicy, nowMs: number, cost = 1): Take {
  const now = refill(state, policy, nowMs);
  const rate = ratePerMs(policy);
  const allowed = now.tokens >= cost;
  const after: BucketState = allowed ? { tokens: now.tokens - cost, updatedMs: nowMs } : now;
  // ceil to whole seconds: waiting that long always finds `cost` tokens (absent other takers)
  const retryAfterSeconds = allowed ? 0 : Math.max(1, Math.ceil((cost - now.tokens) / rate / 1000));
  return {
    allowed,
    state: after,
    remaining: Math.floor(after.tokens),
    retryAfterSeconds,
    resetSeconds: Math.ceil((policy.requests - after.tokens) / rate / 1000),
  };
}

/**
 * The IETF httpapi rate-limit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy`
 * names the quota (q requests per w seconds), `RateLimit` what is left (r) and when it is full (t).
 */
export function rateLimitHeaders(policy: BucketPolicy, result: Take, name = 'default'): Record<string, string> {
  return {
    'RateLimit-Policy': `"${name}";q=${policy.requests};w=${policy.windowSeconds}`,
    RateLimit: `"${name}";r=${result.remaining};t=${result.resetSeconds}`,
    ...(result.allowed ? {} : { 'Retry-After': String(result.retryAfterSeconds) }),
  };
}

/** `"600/60"` (requests per seconds) → a policy; `fallback` for anything else. */
export function parsePolicy(text: string | undefined, fallback: BucketPolicy): BucketPolicy {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text ?? '');
  const requests = Number(m?.[1]);
  const windowSeconds = Number(m?.[2]);
  return requests >= 1 && windowSeconds >= 1 ? { requests, windowSeconds } : fallback;
}
