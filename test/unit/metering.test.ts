import { describe, expect, it } from 'vitest';
import {
  authorize,
  base58,
  displayPrefix,
  formatMilli,
  generateKey,
  hashKey,
  looksLikeKey,
  maxUnits,
  parseBearer,
  parsePolicy,
  rateLimitHeaders,
  refundUnits,
  take,
  timingSafeEqual,
  toMilli,
} from '../../lib/metering';
import { CreateKeyRequestSchema, CreditRequestSchema, UsageExportQuerySchema } from '../../lib/schema';

describe('API keys', () => {
  it('base58 matches the Bitcoin alphabet, leading zeros as 1', () => {
    expect(base58(new Uint8Array([0, 0, 1]))).toBe('112');
    expect(base58(new TextEncoder().encode('hello world'))).toBe('StV1DL6CwTryKyV');
  });

  it('keys have a fixed recognisable shape and differ every time', () => {
    const keys = Array.from({ length: 50 }, () => generateKey());
    for (const k of keys) {
      expect(k).toMatch(/^chorus_[1-9A-HJ-NP-Za-km-z]{44}$/);
      expect(looksLikeKey(k)).toBe(true);
      expect(displayPrefix(k)).toHaveLength(12);
    }
    expect(new Set(keys).size).toBe(50);
    expect(looksLikeKey('chorus_0OIl')).toBe(false);
  });

  it('hashes with SHA-256 (hex)', async () => {
    expect(await hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('reads Bearer credentials with any case of the scheme', () => {
    expect(parseBearer('Bearer abc')).toBe('abc');
    expect(parseBearer('bearer abc')).toBe('abc');
    expect(parseBearer('BEARER   abc ')).toBe('abc');
    expect(parseBearer('Basic abc')).toBeNull();
    expect(parseBearer('Bearer')).toBeNull();
    expect(parseBearer('Bearer a b')).toBeNull();
    expect(parseBearer(undefined)).toBeNull();
  });

  it('compares in constant time, lengths included', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
  });
});

describe('scopes', () => {
  it('checks the scope, then the ensemble allow-list; admin grants every scope', () => {
    const demo = { scopes: ['predict' as const], ensembles: ['spam'] };
    expect(authorize(demo, 'predict', 'spam').ok).toBe(true);
    expect(authorize(demo, 'predict', 'other').ok).toBe(false);
    expect(authorize(demo, 'batch', 'spam').ok).toBe(false);
    expect(authorize({ scopes: ['admin'], ensembles: null }, 'jobs').ok).toBe(true);
  });

  it('key requests are strict', () => {
    expect(CreateKeyRequestSchema.safeParse({ name: 'x', scopes: ['predict'] }).success).toBe(true);
    expect(CreateKeyRequestSchema.safeParse({ name: 'x', scopes: ['root'] }).success).toBe(false);
    expect(CreateKeyRequestSchema.safeParse({ name: 'x', scopes: ['predict', 'predict'] }).success).toBe(false);
    expect(CreateKeyRequestSchema.safeParse({ name: 'x', scopes: ['predict'], colour: 1 }).success).toBe(false);
  });
});

describe('token bucket', () => {
  const policy = { requests: 3, windowSeconds: 3 };

  it('allows a burst of `requests`, then says when one token is back', () => {
    let state = null;
    for (let i = 0; i < 3; i++) {
      const r = take(state, policy, 1000);
      expect(r.allowed).toBe(true);
      expect(r.remaining).toBe(2 - i);
      state = r.state;
    }
    const denied = take(state, policy, 1000);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterSeconds).toBe(1);
    expect(take(denied.state, policy, 1000 + denied.retryAfterSeconds * 1000).allowed).toBe(true);
    expect(take(denied.state, policy, 1999).allowed).toBe(false);
  });

  it('reads policies as requests/seconds', () => {
    const fallback = { requests: 60, windowSeconds: 60 };
    expect(parsePolicy('600/60', fallback)).toEqual({ requests: 600, windowSeconds: 60 });
    expect(parsePolicy(' 5 / 1 ', fallback)).toEqual({ requests: 5, windowSeconds: 1 });
    for (const bad of [undefined, '', '0/60', '60/0', '60', 'a/b', '-1/5'])
      expect(parsePolicy(bad, fallback)).toBe(fallback);
  });

  it('never refills past capacity and formats the IETF fields', () => {
    const r = take({ tokens: 0, updatedMs: 0 }, policy, 1e9);
    expect(r.remaining).toBe(2);
    expect(rateLimitHeaders(policy, r)).toEqual({
      'RateLimit-Policy': '"default";q=3;w=3',
      RateLimit: '"default";r=2;t=1',
    });
    const d = take({ tokens: 0.5, updatedMs: 0 }, { requests: 1, windowSeconds: 10 }, 0);
    expect(rateLimitHeaders({ requests: 1, windowSeconds: 10 }, d)['Retry-After']).toBe('5');
  });
});

describe('units', () => {
  it('charges the maximum and refunds what did not run', () => {
    const members = [{ costUnits: 1 }, { costUnits: 2 }, { costUnits: 3 }, { costUnits: 1 }];
    expect(maxUnits(members, 3)).toBe(21);
    expect(refundUnits(21, 9)).toBe(12);
    expect(refundUnits(21, 30)).toBe(0);
    expect(refundUnits(21, -1)).toBe(21);
  });

  it('milli-units format exactly', () => {
    expect(formatMilli(toMilli(7))).toBe('7');
    expect(formatMilli(toMilli(0.1) * 3)).toBe('0.3');
    expect(formatMilli(1250)).toBe('1.25');
    expect(formatMilli(5)).toBe('0.005');
  });

  it('budgets and credits are whole thousandths: finer amounts are refused, not rounded away', () => {
    const key = (budget_units: number) =>
      CreateKeyRequestSchema.safeParse({ name: 'k', scopes: ['predict'], budget_units });
    expect([0.001, 0.1, 2.5, 1e12].map((u) => key(u).success)).toEqual([true, true, true, true]);
    // 0.0001 booked as toMilli → 0 milli-units: a key that looked funded and was not
    expect([0.0001, 1.0005, 0, -1].map((u) => key(u).success)).toEqual([false, false, false, false]);
    expect(CreditRequestSchema.safeParse({ units: 0.0004 }).success).toBe(false);
    expect(CreditRequestSchema.safeParse({ units: 0.3 }).success).toBe(true);
  });

  it('export windows are ordered and bounded', () => {
    const ok = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' };
    expect(UsageExportQuerySchema.parse(ok).format).toBe('ndjson');
    expect(UsageExportQuerySchema.safeParse({ ...ok, to: ok.from }).success).toBe(false);
    expect(UsageExportQuerySchema.safeParse({ ...ok, to: '2027-01-01T00:00:00Z' }).success).toBe(false);
  });
});
