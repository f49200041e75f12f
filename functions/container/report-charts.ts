/**
 * The job report's charts as Vega-Lite specs (report-html.ts renders them to SVG in Node). Every
 * chart has titled axes with units and tick labels, a legend below the plot with labels never
 * truncated, and scales chosen so differences show: accuracy and log-loss are dot plots on a scale
 * fitted to the values (a bar from 0 would hide a 1-point gap), perturbations are drawn as the
 * change from clean accuracy in percentage points.
 */
import type { JobReport, ReportRow } from '../../lib/schema';
import { type ChartSpec, CONFIG, KIND_COLORS, legend, WIDTH } from './report-chart-style';
import { operatingChart, reliabilityChart } from './report-curves';

export type { ChartSpec } from './report-chart-style';

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
