/**
 * The job report's charts as Vega-Lite specs (report-html.ts renders them to SVG in Node). Every
 * chart has titled axes with units and tick labels, a legend below the plot with labels never
 * truncated, and scales chosen so differences show: accuracy and log-loss are dot plots on a scale
 * fitted to the values (a bar from 0 would hide a 1-point gap), perturbations are drawn as the
 * change from clean accuracy in percentage points.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { JobReport, ReportRow } from '../../lib/schema';

/** A chart: `id` is its `data-chart` name (the browser test finds charts by it). */
export interface ChartSpec {
  id: string;
  spec: TopLevelSpec;
}

const KIND_COLORS = { domain: ['member', 'ensemble', 'candidate'], range: ['#4e79a7', '#59a14f', '#e15759'] };
const WIDTH = 560;

const legend = (title: string) => ({ title, orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 0 });

/** Shared look: readable labels, nothing clipped; band labels (model names) are never cut either. */
const CONFIG = {
  font: 'system-ui, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleLimit: 0 },
  title: { fontSize: 14, anchor: 'start' as const },
  view: { stroke: '#ddd' },
};

/** An accuracy axis fitted to the values, a point of margin each side, never past 100 %. */
function accuracyDomain(values: number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return [Math.max(0, Math.floor(100 * lo - 1) / 100), Math.min(1, Math.ceil(100 * hi + 1) / 100)];
}

const kindColor = { field: 'kind', type: 'nominal' as const, scale: KIND_COLORS, legend: legend('row kind') };

/** One value per model: points on a fitted scale (`zero: false`) or, for sizes, bars from 0. */
function metricChart(
  title: string,
  rows: ReportRow[],
  value: (r: ReportRow) => number,
  axis: { title: string; format: string; domain?: [number, number] },
  bars = false,
): ChartSpec {
  const values = rows.map((r) => ({ name: r.name, kind: r.kind, value: value(r) }));
  const fitted = axis.domain ? { domain: axis.domain, nice: false } : { zero: false, padding: 12 };
  const x = { field: 'value', type: 'quantitative' as const, title: axis.title, axis: { format: axis.format } };
  const y = { field: 'name', type: 'nominal' as const, sort: null, title: 'model' };
  return {
    id: title,
    spec: {
      title,
      config: CONFIG,
      width: WIDTH,
      height: { step: 26 },
      data: { values },
      layer: [
        {
          name: 'values',
          mark: bars ? { type: 'bar', height: 16 } : { type: 'point', filled: true, size: 110, opacity: 1 },
          encoding: { x: bars ? x : { ...x, scale: fitted }, y, color: kindColor },
        },
        {
          mark: { type: 'text', align: 'left', dx: 9, fontSize: 11 },
          encoding: { x, y, text: { field: 'value', type: 'quantitative', format: axis.format } },
        },
      ],
    },
  };
}

/** Observed accuracy against confidence per 10 bins, the diagonal, and below it the messages per bin. */
function reliabilityChart(r: JobReport): ChartSpec {
  const values = r.reliability.flatMap((c) => c.bins.map((b) => ({ curve: c.name, ...b })));
  const x = {
    field: 'confidence',
    type: 'quantitative' as const,
    title: 'confidence (mean predicted probability of the answered label)',
    scale: { domain: [0, 1] },
    axis: { format: '.0%' },
  };
  const color = { field: 'curve', type: 'nominal' as const, legend: legend('model') };
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
            {
              name: 'curve',
              mark: { type: 'line', point: { filled: true, size: 50 } },
              encoding: {
                x,
                y: {
                  field: 'accuracy',
                  type: 'quantitative',
                  title: 'observed accuracy',
                  scale: { domain: [0, 1] },
                  axis: { format: '.0%' },
                },
                color,
              },
            },
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

/** Accuracy against total model bytes on a log scale; each model its own colour (labels beside points overlap). */
function paretoChart(rows: ReportRow[]): ChartSpec {
  const values = rows.map((r) => ({
    name: r.name,
    kind: r.kind,
    kib: Math.max(r.bytes, 1) / 1024,
    accuracy: r.accuracy,
  }));
  const x = {
    field: 'kib',
    type: 'quantitative' as const,
    title: 'model size (KiB, log scale; an ensemble counts all its members)',
    scale: { type: 'log' as const },
    axis: { format: ',.0f' },
  };
  const y = {
    field: 'accuracy',
    type: 'quantitative' as const,
    title: 'accuracy (validation)',
    scale: { domain: accuracyDomain(rows.map((r) => r.accuracy)), nice: false },
    axis: { format: '.1%' },
  };
  return {
    id: 'pareto',
    spec: {
      title: 'Accuracy vs model bytes',
      config: CONFIG,
      width: WIDTH,
      height: 320,
      data: { values },
      layer: [
        {
          name: 'points',
          mark: { type: 'point', filled: true, size: 130, opacity: 0.9 },
          encoding: {
            x,
            y,
            color: { field: 'name', type: 'nominal', sort: null, legend: legend('model') },
            shape: {
              field: 'kind',
              type: 'nominal',
              scale: { domain: KIND_COLORS.domain },
              legend: legend('row kind'),
            },
          },
        },
      ],
    },
  };
}

/** Change of accuracy under each perturbation, in percentage points from the model's clean accuracy. */
function robustnessChart(r: JobReport): ChartSpec | null {
  if (r.robustness.length === 0) return null;
  const values = r.robustness.flatMap((row) =>
    Object.entries(row.perturbed).map(([perturbation, acc]) => ({
      model: `${row.name} (clean ${(100 * row.clean).toFixed(1)} %)`,
      perturbation,
      delta: 100 * (acc - row.clean),
    })),
  );
  const x = {
    field: 'delta',
    type: 'quantitative' as const,
    title: 'accuracy change vs clean (percentage points)',
    scale: { nice: true, padding: 10 },
  };
  const y = { field: 'model', type: 'nominal' as const, sort: null, title: null };
  const yOffset = { field: 'perturbation', type: 'nominal' as const };
  return {
    id: 'Accuracy under perturbations (validation)',
    spec: {
      title: 'Accuracy under perturbations (validation)',
      config: CONFIG,
      width: WIDTH,
      height: r.robustness.length * (16 * Math.max(1, Object.keys(r.robustness[0]?.perturbed ?? {}).length) + 14),
      data: { values },
      layer: [
        {
          name: 'values',
          mark: { type: 'bar', height: 13 },
          encoding: { x, y, yOffset, color: { ...yOffset, legend: legend('perturbation') } },
        },
        {
          // each change written right of the zero line, so an unchanged accuracy (no bar) still reads +0.0
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
          encoding: {
            x: { datum: 0, type: 'quantitative' },
            y,
            yOffset,
            text: { field: 'delta', type: 'quantitative', format: '+.1f' },
          },
        },
        {
          data: { values: [{ zero: 0 }] },
          mark: { type: 'rule', color: '#333' },
          encoding: { x: { field: 'zero', type: 'quantitative' } },
        },
      ],
    },
  };
}

/** ROC and precision–recall side by side, each model's served operating point marked. */
function operatingChart(r: JobReport): ChartSpec | null {
  const curves = r.curves ?? [];
  if (curves.length === 0) return null;
  const label = (c: (typeof curves)[number]) => `${c.name} (ROC AUC ${c.rocAuc.toFixed(3)})`;
  const points = curves.flatMap((c) => c.points.map((p) => ({ model: label(c), ...p })));
  const ops = curves.map((c) => ({ model: label(c), ...c.operatingPoint }));
  const positive = curves[0]?.positive ?? 'positive';
  const color = { field: 'model', type: 'nominal' as const, legend: legend(`model (positive: ${positive})`) };
  const unit = (field: string, title: string) => ({
    field,
    type: 'quantitative' as const,
    title,
    scale: { domain: [0, 1] },
    axis: { format: '.0%' },
  });
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

/** Every chart of a report, in page order. */
export function reportCharts(r: JobReport): ChartSpec[] {
  const charts: (ChartSpec | null)[] = [
    metricChart('Accuracy (validation)', r.rows, (x) => x.accuracy, {
      title: 'accuracy',
      format: '.1%',
      domain: accuracyDomain(r.rows.map((x) => x.accuracy)),
    }),
    metricChart('Log-loss (validation, lower is better)', r.rows, (x) => x.logLoss, {
      title: 'log-loss (nats per message)',
      format: '.4f',
    }),
    metricChart('Model bytes', r.rows, (x) => x.bytes / 1024, { title: 'model size (KiB)', format: ',.0f' }, true),
    reliabilityChart(r),
    paretoChart(r.rows),
    robustnessChart(r),
    operatingChart(r),
  ];
  return charts.filter((c) => c !== null);
}
