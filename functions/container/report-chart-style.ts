/** What every report chart shares: its shape as report-html.ts renders it, the look, the legend. */
import type { TopLevelSpec } from 'vega-lite';

/** A chart: `id` is its `data-chart` name (the browser test finds charts by it). */
export interface ChartSpec {
  id: string;
  spec: TopLevelSpec;
}

export const KIND_COLORS = { domain: ['member', 'ensemble', 'candidate'], range: ['#4e79a7', '#59a14f', '#e15759'] };
export const WIDTH = 560;

export const legend = (title: string) => ({
  title,
  orient: 'bottom' as const,
  direction: 'vertical' as const,
  labelLimit: 0,
});

/** Shared look: readable labels, nothing clipped; band labels (model names) are never cut either. */
export const CONFIG = {
  font: 'system-ui, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleLimit: 0 },
  title: { fontSize: 14, anchor: 'start' as const },
  view: { stroke: '#ddd' },
};
