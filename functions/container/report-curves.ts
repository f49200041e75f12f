/** The report's calibration and operating charts: the reliability diagram, and ROC / precision–recall. */
import type { JobReport } from '../../lib/schema';
import { type ChartSpec, CONFIG, legend, WIDTH } from './report-chart-style';

/** A share on a 0–100 % axis (encoding of one field). */
const unit = (field: string, title: string) => ({
  field,
  type: 'quantitative' as const,
  title,
  scale: { domain: [0, 1] },
  axis: { format: '.0%' },
});

/** Observed accuracy against confidence per 10 bins, the diagonal, and below it the messages per bin. */
export function reliabilityChart(r: JobReport): ChartSpec {
  const values = r.reliability.flatMap((c) => c.bins.map((b) => ({ curve: c.name, ...b })));
  const x = unit('confidence', 'confidence (mean predicted probability of the answered label)');
  const color = { field: 'curve', type: 'nominal' as const, legend: legend('model') };
  const accuracy = unit('accuracy', 'observed accuracy');
  return {
    id: 'reliability',
    spec: {
      title: 'Reliability (validation)',
      config: CONFIG,
      data: { values },
      vconcat: [
        {
          width: WIDTH,
          height: 300,
          layer: [
            {
              data: { values: [{ a: 0 }, { a: 1 }] },
              mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
              encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'a', type: 'quantitative' } },
            },
            { name: 'curve', mark: { type: 'line' }, encoding: { x, y: accuracy, color } },
            // points as their own layer: a curve whose messages all fall in one bin is one point
            { name: 'bins', mark: { type: 'point', filled: true, size: 50 }, encoding: { x, y: accuracy, color } },
          ],
        },
        {
          width: WIDTH,
          height: 110,
          mark: { type: 'bar', width: 7, opacity: 0.75 },
          encoding: {
            x,
            y: {
              field: 'count',
              type: 'quantitative',
              title: 'messages in bin (symlog scale)',
              scale: { type: 'symlog' },
            },
            color,
          },
        },
      ],
    },
  };
}

/** ROC and precision–recall side by side, each model's served operating point marked. */
export function operatingChart(r: JobReport): ChartSpec | null {
  const curves = r.curves ?? [];
  if (curves.length === 0) return null;
  const label = (c: (typeof curves)[number]) => `${c.name} (ROC AUC ${c.rocAuc.toFixed(3)})`;
  const points = curves.flatMap((c) => c.points.map((p) => ({ model: label(c), ...p })));
  const ops = curves.map((c) => ({ model: label(c), ...c.operatingPoint }));
  const positive = curves[0]?.positive ?? 'positive';
  const color = { field: 'model', type: 'nominal' as const, legend: legend(`model (positive: ${positive})`) };
  const panel = (x: ReturnType<typeof unit>, y: ReturnType<typeof unit>, title: string, name: string) => ({
    title,
    width: 330,
    height: 300,
    layer: [
      {
        data: { values: points },
        name: `${name}-curve`,
        mark: { type: 'line', interpolate: 'step-after' } as const,
        encoding: { x, y, color },
      },
      {
        data: { values: ops },
        name: `${name}-operating`,
        mark: { type: 'point', shape: 'diamond', filled: true, size: 170, stroke: '#111', strokeWidth: 1 } as const,
        encoding: { x, y, color },
      },
      {
        data: { values: ops },
        mark: { type: 'text', align: 'left', dx: 8, dy: 10, fontSize: 10 } as const,
        encoding: { x, y, text: { field: 'threshold', type: 'quantitative' as const, format: '.2f' } },
      },
    ],
  });
  const tpr = unit('tpr', `true-positive rate (recall of ${positive})`);
  return {
    id: 'roc-pr',
    spec: {
      title: 'ROC and precision–recall (validation); ◆ = operating point, labelled with its threshold',
      config: CONFIG,
      hconcat: [
        panel(unit('fpr', 'false-positive rate'), tpr, 'ROC', 'roc'),
        panel({ ...tpr, title: `recall of ${positive}` }, unit('precision', 'precision'), 'Precision–recall', 'pr'),
      ],
    },
  };
}
