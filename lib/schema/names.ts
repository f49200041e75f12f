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

/**
 * A record whose keys are caller-chosen names: built-ins are refused rather than dropped. zod
 * skips an own `__proto__` key silently, so that one is caught on the raw input first.
 */
export const safeRecord = <V extends z.ZodType>(value: V, key: z.ZodString = z.string()) =>
  z.preprocess(
    (raw, ctx) => {
      if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, '__proto__')) {
        ctx.addIssue({ code: 'custom', message: "'__proto__' is not allowed as a name", path: ['__proto__'] });
      }
      return raw;
    },
    z.record(notBuiltin(key), value),
  );
