/** Who calls: set by the scope gate (auth.ts), read by routes through `c.var.principal`. */
import type { Scope } from '../../lib/schema';

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
