import { z } from 'zod';

/**
 * Names that collide with JavaScript built-ins (`__proto__`, `constructor`, `toString`, …). A
 * field, member, label or weight key with such a name could be read through the prototype chain
 * or silently dropped by an object literal, so every name a caller chooses is checked here.
 */
const BUILTIN_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__']);

export const isBuiltinName = (name: string): boolean => BUILTIN_NAMES.has(name);

/** A caller-chosen name: refused when it is a JavaScript built-in property name. */
export const notBuiltin = <S extends z.ZodString>(schema: S) =>
  schema.refine((n) => !isBuiltinName(n), { message: 'a JavaScript built-in name is not allowed here' });

/** The most names one caller-chosen record holds: an input's fields, a member's inputs, weights. */
export const MAX_RECORD_KEYS = 1024;

/**
 * A record whose keys are caller-chosen names: built-ins are refused rather than dropped. zod
 * skips an own `__proto__` key silently, so that one is caught on the raw input first. More than
 * MAX_RECORD_KEYS names is refused before any is validated: zod builds an issue per bad entry, and
 * a 1 MiB input of 120,000 numeric fields cost half a second of CPU to reject.
 */
export const safeRecord = <V extends z.ZodType>(value: V, key: z.ZodString = z.string()) =>
  z.preprocess(
    (raw, ctx) => {
      if (typeof raw !== 'object' || raw === null) return raw;
      let names = 0;
      for (const _ in raw) {
        if (++names > MAX_RECORD_KEYS) {
          ctx.addIssue({ code: 'custom', message: `more than ${MAX_RECORD_KEYS} names`, continue: false });
          return raw;
        }
      }
      if (Object.hasOwn(raw, '__proto__')) {
        ctx.addIssue({ code: 'custom', message: "'__proto__' is not allowed as a name", path: ['__proto__'] });
      }
      return raw;
    },
    z.record(notBuiltin(key), value),
  );
