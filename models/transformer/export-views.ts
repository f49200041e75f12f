/**
 * Writes the zoo's corpus as JSON lines for the transformer script (make_bert.py): one line per
 * message, `{id, split, group, label, body}`, where split and body are exactly what the zoo uses
 * (models/corpus.ts: postal-mime body view, murmur3 split of the near-duplicate key).
 *
 *   npx tsx models/transformer/export-views.ts /tmp/chorus-views.jsonl
 *
 * The output is a build intermediate (≈ 20 MB); do not commit it.
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { loadCorpus } from '../corpus';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx models/transformer/export-views.ts OUT.jsonl');
    process.exit(2);
  }
  const corpus = await loadCorpus();
  const stream = createWriteStream(out, 'utf8');
  const counts: Record<string, number> = {};
  for (const m of corpus) {
    stream.write(
      `${JSON.stringify({ id: m.id, split: m.split, group: m.group, label: m.label, body: m.views.body })}\n`,
    );
    counts[m.split] = (counts[m.split] ?? 0) + 1;
  }
  stream.end();
  await finished(stream);
  console.log(`wrote ${corpus.length} messages to ${out}`, counts);
}

await main();
