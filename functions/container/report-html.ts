/**
 * A job report (JobReportSchema, as in report.json) rendered as a self-contained report.html: a
 * table of figures and charts drawn by Vega-Lite, rendered to inline SVG here in Node (Vega's
 * headless view, no canvas), so the page has no scripts and loads nothing.
 */
import type { JobReport } from '../../lib/schema';
import { type ChartSpec, reportCharts } from './report-charts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One chart as inline SVG, its root tagged `class="chart"` and `data-chart="{id}"` for tests and styles. */
async function renderChart({ id, spec }: ChartSpec): Promise<string> {
  // loaded with the first report, not at container start (~0.7 s of imports on 2 busy cores)
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return `<figure>${svg.replace('class="marks"', `class="marks chart" data-chart="${esc(id)}" role="img"`)}</figure>`;
  } finally {
    view.finalize();
  }
}

export async function renderReportHtml(r: JobReport): Promise<string> {
  const charts = await Promise.all(reportCharts(r).map(renderChart));
  const table = r.rows
    .map(
      (x) =>
        `<tr class="${x.kind}"><td>${esc(x.name)}</td><td>${x.kind}</td><td>${(100 * x.accuracy).toFixed(2)}</td><td>${(100 * x.macroF1).toFixed(2)}</td><td>${x.logLoss.toFixed(4)}</td><td>${x.ece.toFixed(4)}</td><td>${x.bytes}</td><td>${x.costUnits}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chorus job ${esc(r.id)} — ${esc(r.kind)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}tr.candidate{background:#fde}tr.ensemble{background:#efe}figure{margin:1.5em 0}svg.chart{max-width:100%;height:auto}.gate{padding:8px;border-radius:4px}.pass{background:#dfd}.fail{background:#fdd}</style>
</head><body>
<h1>Job ${esc(r.id)}: ${esc(r.kind)} on <code>${esc(r.ensemble)}</code> v${r.baseVersion}</h1>
<p class="gate ${r.gate.passed ? 'pass' : 'fail'}">Quality gate ${r.gate.passed ? 'passed' : 'failed'}: ${esc(r.gate.detail)}</p>
<p>Execution provider: ${esc(r.executionProvider)} · wall time ${r.wallSeconds.toFixed(1)} s</p>
<table><thead><tr><th>model</th><th>kind</th><th>accuracy %</th><th>macro-F1 %</th><th>log-loss</th><th>ECE</th><th>bytes</th><th>cost</th></tr></thead><tbody>${table}</tbody></table>
${charts.join('\n')}
${r.robustness.length === 0 ? '<p>No robustness check for tensor inputs.</p>' : ''}
<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
</body></html>
`;
}
