import type { Scope } from '../schema/metering';

/** What a credential may do, as the edge checks it on every request. */
export interface Grant {
  scopes: readonly Scope[];
  /** allow-list of ensembles; null = every ensemble */
  ensembles: readonly string[] | null;
}

export type Denial = { ok: false; reason: string };
export type Decision = { ok: true } | Denial;

/** `admin` grants every scope; otherwise the scope must be listed. */
export const hasScope = (grant: Grant, scope: Scope): boolean =>
  grant.scopes.includes('admin') || grant.scopes.includes(scope);

/** Scope first, then the ensemble allow-list (when the route names an ensemble). */
export function authorize(grant: Grant, scope: Scope, ensemble?: string): Decision {
  if (!hasScope(grant, scope)) return { ok: false, reason: `the key lacks the '${scope}' scope` };
  if (ensemble !== undefined && grant.ensembles !== null && !grant.ensembles.includes(ensemble)) {
    return { ok: false, reason: `the key does not grant ensemble '${ensemble}'` };
  }
  return { ok: true };
}
