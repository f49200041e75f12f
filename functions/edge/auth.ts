/**
 * Who is calling, and may they: every route but health and docs lists `requireScope(…)`.
 * Credentials, in order: a container-signed request (routes jobs use), `Authorization: Bearer`
 * with the admin token (the bootstrap admin) or an API key (checked, rate-limited and revoked
 * at the key's own meter), or nothing at all for a public ensemble's predict (per-client limit).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { SIGNATURE_HEADER, verifyRequest } from '../../lib/jobs';
import { hashKey, looksLikeKey, parseBearer, parsePolicy, timingSafeEqual } from '../../lib/metering';
import type { ProblemCode, Scope } from '../../lib/schema';
import type { AppEnv } from './context';
import { clientMeterOf, directoryOf, meterOf } from './metering/service';
import { ApiError } from './problem';

export type Principal =
  | {
      kind: 'key';
      keyId: string;
      keyHash: string;
      scopes: Scope[];
      /** units held at admission (`ScopeOptions.hold`) until the work takes them (metering/charge.ts) */
      hold?: { reservation: number; units: number; remainingUnits: number | null };
    }
  | { kind: 'bootstrap' }
  | { kind: 'signed' }
  | { kind: 'anonymous'; client: string };

export interface ScopeOptions {
  /** the path parameter naming the ensemble (allow-lists; public access) */
  ensembleParam?: string;
  /** the query parameter naming the ensemble, where the path does not (batch uploads) */
  ensembleQuery?: string;
  /** a request signed with JOB_SECRET passes: the container reads and publishes ensembles */
  signed?: boolean;
  /** without a credential, a public ensemble's callers pass under a per-client rate limit */
  publicAccess?: boolean;
  /** the most this request can cost, held by the key's meter in the same call as admission */
  hold?: (c: Context<AppEnv>) => Promise<number | undefined>;
}

const CODE_OF_DENIAL = {
  401: 'unauthorized',
  402: 'budget_exhausted',
  403: 'forbidden',
  429: 'rate_limited',
} as const satisfies Record<number, ProblemCode>;

/** The header that carries a metered key's prepaid units left. */
export const REMAINING_HEADER = 'Chorus-Budget-Remaining';

export const principalOf = (c: Context<AppEnv>): Principal | undefined => c.get('principal');

const setHeaders = (c: Context<AppEnv>, headers: Record<string, string>): void => {
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
};

/**
 * The scope gate (`'any'`: any valid API key, e.g. for a key's own usage). Routes with a body list it after `limitBody`: the body is capped first, then
 * a signature over it is verified, then (later middleware) it is parsed.
 */
export function requireScope(scope: Scope | 'any', options: ScopeOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const ensemble = options.ensembleParam
      ? c.req.param(options.ensembleParam)
      : options.ensembleQuery
        ? c.req.query(options.ensembleQuery)
        : undefined;
    const signature = c.req.header(SIGNATURE_HEADER);
    if (options.signed && signature && c.env.JOB_SECRET) {
      const check = await verifyRequest(c.env.JOB_SECRET, signature, c.req.method, c.req.path, await c.req.text());
      if (!check.ok) throw new ApiError(401, 'unauthorized', `request signature ${check.reason}`);
      c.set('principal', { kind: 'signed' });
      return next();
    }
    const header = c.req.header('authorization');
    if (header === undefined) {
      if (options.publicAccess && ensemble !== undefined && (await directoryOf(c.env).isPublic(ensemble))) {
        await admitClient(c);
        return next();
      }
      throw new ApiError(401, 'unauthorized', 'missing Authorization: Bearer <API key>');
    }
    const credential = parseBearer(header);
    if (credential === null) throw new ApiError(401, 'unauthorized', 'expected Authorization: Bearer <API key>');
    const hash = await hashKey(credential);
    if (c.env.ADMIN_TOKEN && timingSafeEqual(hash, await hashKey(c.env.ADMIN_TOKEN))) {
      c.set('principal', { kind: 'bootstrap' });
      return next();
    }
    if (!looksLikeKey(credential)) throw new ApiError(401, 'unauthorized', 'not an API key');
    const meter = meterOf(c.env, hash);
    const admission = await meter.admit(hash, scope, ensemble, await options.hold?.(c));
    setHeaders(c, admission.headers);
    if (!admission.ok) throw new ApiError(admission.status, CODE_OF_DENIAL[admission.status], admission.reason);
    if (admission.remainingMilli !== null) c.header(REMAINING_HEADER, String(admission.remainingMilli / 1000));
    const principal: Principal = { kind: 'key', keyId: admission.keyId, keyHash: hash, scopes: admission.scopes };
    if (admission.hold) principal.hold = admission.hold;
    c.set('principal', principal);
    try {
      await next();
    } finally {
      // a hold the work never took (the request failed validation, say) is given back
      if (principal.hold) c.executionCtx.waitUntil(meter.release(principal.hold.reservation));
    }
  };
}

/** Anonymous callers share a bucket per client address (one fixed bucket where there is none). */
async function admitClient(c: Context<AppEnv>): Promise<void> {
  const client = c.req.header('cf-connecting-ip') ?? 'local';
  const policy = parsePolicy(c.env.PUBLIC_RATE_LIMIT, { requests: 60, windowSeconds: 60 });
  const result = await clientMeterOf(c.env, client).admitClient(policy);
  setHeaders(c, result.headers);
  if (!result.allowed) throw new ApiError(429, 'rate_limited', 'the public rate limit for this client is spent');
  c.set('principal', { kind: 'anonymous', client });
}
