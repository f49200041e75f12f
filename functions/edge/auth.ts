/**
 * Who is calling, and may they: every route but health and docs lists `requireScope(…)`.
 * Credentials, in order: a container-signed request (routes jobs use), `Authorization: Bearer`
 * with the admin token (the bootstrap admin) or an API key (checked, rate-limited and revoked
 * at the key's own meter), or nothing at all for a public ensemble's predict (per-client limit).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { SIGNATURE_HEADER, verifyRequest } from '../../lib/jobs';
import { hashKey, looksLikeKey, parseBearer, parsePolicy, timingSafeEqual } from '../../lib/metering';
import { isEnsembleName, type ProblemCode, type Scope } from '../../lib/schema';
import type { AppEnv } from './context';
import { numberVar } from './env';
import { carrying, oweLater } from './metering/owed';
import { clientMeterOf, directoryOf, meterOf } from './metering/service';
import type { Admission } from './metering/types';
import type { Principal } from './principal';
import { ApiError } from './problem';

export type { Principal } from './principal';

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
    const named = options.ensembleParam
      ? c.req.param(options.ensembleParam)
      : options.ensembleQuery
        ? c.req.query(options.ensembleQuery)
        : undefined;
    // a name no ensemble can have is not looked up, remembered or sent to a meter: the route's
    // own validation answers it (400) once the caller is admitted
    const ensemble = named !== undefined && isEnsembleName(named) ? named : undefined;
    const signature = c.req.header(SIGNATURE_HEADER);
    if (options.signed && signature && c.env.JOB_SECRET) {
      const check = await verifyRequest(c.env.JOB_SECRET, signature, c.req.method, c.req.path, await c.req.text());
      if (!check.ok) throw new ApiError(401, 'unauthorized', `request signature ${check.reason}`);
      c.set('principal', { kind: 'signed' });
      return next();
    }
    const header = c.req.header('authorization');
    if (header === undefined) {
      if (options.publicAccess && ensemble !== undefined && (await isPublic(c, ensemble))) {
        await admitClient(c);
        return next();
      }
      throw new ApiError(401, 'unauthorized', 'missing Authorization: Bearer <API key>');
    }
    const credential = parseBearer(header);
    if (credential === null) throw new ApiError(401, 'unauthorized', 'expected Authorization: Bearer <API key>');
    const hash = await hashKey(credential);
    if (c.env.ADMIN_TOKEN && timingSafeEqual(hash, await adminHash(c.env.ADMIN_TOKEN))) {
      c.set('principal', { kind: 'bootstrap' });
      return next();
    }
    if (!looksLikeKey(credential)) throw new ApiError(401, 'unauthorized', 'not an API key');
    const meter = meterOf(c.env, hash);
    const holdUnits = await options.hold?.(c);
    // what earlier requests of this key owe rides along: one meter call per request (owed.ts)
    const admission: Admission = await carrying(hash, async (owed) =>
      meter.admit({ keyHash: hash, scope, ensemble, holdUnits, owed }),
    );
    setHeaders(c, admission.headers);
    if (!admission.ok && admission.status === 402 && holdUnits !== undefined) {
      const remaining = admission.remainingUnits ?? 0;
      c.header(REMAINING_HEADER, String(remaining));
      throw new ApiError(
        402,
        'budget_exhausted',
        `this request can cost ${holdUnits} units; the key has ${remaining} left`,
        {
          remaining_units: remaining,
          required_units: holdUnits,
        },
      );
    }
    if (!admission.ok) throw new ApiError(admission.status, CODE_OF_DENIAL[admission.status], admission.reason);
    if (admission.remainingMilli !== null) c.header(REMAINING_HEADER, String(admission.remainingMilli / 1000));
    remainingAtAdmission.set(c, admission.remainingMilli);
    const principal: Principal = { kind: 'key', keyId: admission.keyId, keyHash: hash, scopes: admission.scopes };
    if (admission.hold) principal.hold = admission.hold;
    c.set('principal', principal);
    try {
      await next();
    } finally {
      // a hold the work never took (the request failed validation, say) is given back
      if (principal.hold) c.executionCtx.waitUntil(oweLater(hash, { reservation: principal.hold.reservation }, meter));
    }
  };
}

/** A metered key's milli-units left when its request was admitted (requireBudget reads it). */
const remainingAtAdmission = new WeakMap<Context<AppEnv>, number | null>();

/**
 * Work charged after it is done (batch rows, job seconds) is admitted while the key has anything
 * left: 402 once its budget is spent. The charge itself comes later and may overdraw the key by at
 * most the work admitted here (README: pay-per-use). Listed after requireScope.
 */
export const requireBudget: MiddlewareHandler<AppEnv> = async (c, next) => {
  const left = principalOf(c)?.kind === 'key' ? remainingAtAdmission.get(c) : undefined;
  if (left !== undefined && left !== null && left <= 0) {
    c.header(REMAINING_HEADER, String(left / 1000));
    throw new ApiError(402, 'budget_exhausted', 'the key has no units left for work charged after it is done', {
      remaining_units: left / 1000,
    });
  }
  await next();
};

/** The bootstrap token's hash, computed once per isolate (per token). */
let admin: { token: string; hash: Promise<string> } | undefined;
function adminHash(token: string): Promise<string> {
  if (admin?.token !== token) admin = { token, hash: hashKey(token) };
  return admin.hash;
}

/**
 * Whether an ensemble takes anonymous predicts, remembered per isolate for MANIFEST_TTL_MS (as
 * long as a manifest is): anonymous requests do not each call the one directory object. The
 * admin route that changes it forgets the entry here at once (`forgetPublic`); other isolates
 * follow within the TTL.
 */
const publicFlags = new Map<string, { isPublic: boolean; untilMs: number }>();
async function isPublic(c: Context<AppEnv>, ensemble: string): Promise<boolean> {
  const now = Date.now();
  const known = publicFlags.get(ensemble);
  if (known && known.untilMs > now) return known.isPublic;
  const flag = await directoryOf(c.env).isPublic(ensemble);
  if (publicFlags.size > 10_000) publicFlags.clear();
  publicFlags.set(ensemble, { isPublic: flag, untilMs: now + numberVar(c.env.MANIFEST_TTL_MS, 5000) });
  return flag;
}

export const forgetPublic = (ensemble: string): boolean => publicFlags.delete(ensemble);

/** Anonymous callers share a bucket per client address (one fixed bucket where there is none). */
async function admitClient(c: Context<AppEnv>): Promise<void> {
  const client = c.req.header('cf-connecting-ip') ?? 'local';
  const policy = parsePolicy(c.env.PUBLIC_RATE_LIMIT, { requests: 60, windowSeconds: 60 });
  const result = await clientMeterOf(c.env, client).admitClient(policy);
  setHeaders(c, result.headers);
  if (!result.allowed) throw new ApiError(429, 'rate_limited', 'the public rate limit for this client is spent');
  c.set('principal', { kind: 'anonymous', client });
}
