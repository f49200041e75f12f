/**
 * Seeded character-level perturbations for robustness reports: typos, homoglyphs, spacing.
 * For e-mails only the body changes (headers stay parseable).
 */
import { createRng } from '../../lib/train';

export type Perturbation = 'typos' | 'homoglyphs' | 'spacing';
export const PERTURBATIONS: readonly Perturbation[] = ['typos', 'homoglyphs', 'spacing'];

const HOMOGLYPHS: Record<string, string> = { a: 'а', e: 'е', o: 'о', p: 'р', c: 'с', x: 'х', y: 'у', i: 'і' };

function perturbText(text: string, kind: Perturbation, rng: () => number): string {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const letter = /\p{L}/u.test(ch);
    if (kind === 'typos' && letter && rng() < 0.03) {
      if (rng() < 0.5) continue; // drop
      const next = chars[i + 1];
      if (next !== undefined) {
        out.push(next, ch); // swap with the next
        i++;
        continue;
      }
    }
    if (kind === 'homoglyphs' && rng() < 0.15) {
      const h = HOMOGLYPHS[ch];
      if (h) {
        out.push(h);
        continue;
      }
    }
    out.push(ch);
    if (kind === 'spacing' && letter && rng() < 0.05) out.push(' ');
  }
  return out.join('');
}

/** Perturbs an input value; rfc822 messages keep their header block. */
export function perturb(value: string, rfc822: boolean, kind: Perturbation, seed: number): string {
  const rng = createRng(seed);
  if (!rfc822) return perturbText(value, kind, rng);
  const m = /\r?\n\r?\n/.exec(value);
  if (!m) return value;
  const cut = m.index + m[0].length;
  return value.slice(0, cut) + perturbText(value.slice(cut), kind, rng);
}
