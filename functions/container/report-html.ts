/**
 * A job report (JobReportSchema, as in report.json) rendered as a self-contained report.html with
 * inline SVG charts — metrics per model, a reliability diagram, accuracy against bytes (Pareto)
 * and robustness under perturbations. No scripts, no external assets.
 */
import type { JobReport, ReliabilityCurve, ReportRow, RobustnessRow } from '../../lib/schema';

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function barChart(
  title: string,
  rows: { label: string; value: number; kind: string }[],
  fmt: (v: number) => string,
): string {
  const w = 860;
  const rowH = 22;
  const left = 380;
  const h = rows.length * rowH + 40;
  const max = Math.max(...rows.map((r) => r.value), 1e-9);
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowH;
      const bw = ((w - left - 70) * r.value) / max;
      const color = r.kind === 'candidate' ? '#e15759' : r.kind === 'ensemble' ? '#59a14f' : '#4e79a7';
      return `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text><rect class="bar" x="${left}" y="${y}" width="${bw.toFixed(1)}" height="${rowH - 6}" fill="${color}"><title>${esc(r.label)}: ${fmt(r.value)}</title></rect><text x="${left + bw + 4}" y="${y + 14}">${fmt(r.value)}</text>`;
    })
    .join('');
  return `<figure><svg class="chart" data-chart="${esc(title)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img"><text x="10" y="18" class="title">${esc(title)}</text>${bars}</svg></figure>`;
}

function reliabilityChart(curves: ReliabilityCurve[]): string {
  const s = 320;
  const pad = 40;
  const x = (v: number) => pad + v * (s - 2 * pad);
  const y = (v: number) => s - pad - v * (s - 2 * pad);
  const lines = curves
    .map((c, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = c.bins.map((b) => `${x(b.confidence).toFixed(1)},${y(b.accuracy).toFixed(1)}`).join(' ');
      const dots = c.bins
        .map(
          (b) =>
            `<circle class="point" cx="${x(b.confidence).toFixed(1)}" cy="${y(b.accuracy).toFixed(1)}" r="3" fill="${color}"><title>${esc(c.name)}: confidence ${b.confidence.toFixed(2)}, accuracy ${b.accuracy.toFixed(2)} (${b.count})</title></circle>`,
        )
        .join('');
      return `<polyline class="curve" points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>${dots}<text x="${s + 10}" y="${40 + i * 18}" fill="${color}">${esc(c.name)}</text>`;
    })
    .join('');
  return `<figure><svg class="chart" data-chart="reliability" viewBox="0 0 ${s + 240} ${s}" width="${s + 240}" height="${s}" role="img"><text x="10" y="18" class="title">Reliability (validation)</text><line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4"/><line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(0)}" stroke="#333"/><line x1="${x(0)}" y1="${y(0)}" x2="${x(0)}" y2="${y(1)}" stroke="#333"/><text x="${x(0.5)}" y="${s - 8}" text-anchor="middle">confidence</text><text x="12" y="${y(0.5)}" transform="rotate(-90 12 ${y(0.5)})" text-anchor="middle">accuracy</text>${lines}</svg></figure>`;
}

function paretoChart(rows: ReportRow[]): string {
  const w = 640;
  const h = 340;
  const pad = 50;
  const bytes = rows.map((r) => Math.max(r.bytes, 1));
  const lo = Math.log10(Math.min(...bytes));
  const hi = Math.log10(Math.max(...bytes)) + 1e-9;
  const accs = rows.map((r) => r.accuracy);
  const aLo = Math.min(...accs) - 0.01;
  const aHi = Math.max(...accs) + 0.01;
  const x = (b: number) => pad + ((Math.log10(Math.max(b, 1)) - lo) / Math.max(hi - lo, 1e-9)) * (w - 2 * pad - 120);
  const y = (a: number) => h - pad - ((a - aLo) / Math.max(aHi - aLo, 1e-9)) * (h - 2 * pad);
  const pts = rows
    .map((r, i) => {
      const color = r.kind === 'candidate' ? '#e15759' : r.kind === 'ensemble' ? '#59a14f' : COLORS[i % COLORS.length];
      return `<circle class="point" cx="${x(r.bytes).toFixed(1)}" cy="${y(r.accuracy).toFixed(1)}" r="6" fill="${color}"><title>${esc(r.name)}: ${(100 * r.accuracy).toFixed(2)} %, ${r.bytes} bytes</title></circle><text x="${(x(r.bytes) + 8).toFixed(1)}" y="${(y(r.accuracy) + 4).toFixed(1)}">${esc(r.name)}</text>`;
    })
    .join('');
  return `<figure><svg class="chart" data-chart="pareto" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img"><text x="10" y="18" class="title">Accuracy vs model bytes (log scale)</text><line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#333"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#333"/><text x="${w / 2}" y="${h - 12}" text-anchor="middle">bytes</text>${pts}</svg></figure>`;
}

function robustnessChart(rows: RobustnessRow[]): string {
  if (rows.length === 0) return '<p>No robustness check for tensor inputs.</p>';
  const kinds = ['clean', ...Object.keys(rows[0]?.perturbed ?? {})];
  const flat = rows.flatMap((r) =>
    kinds.map((k) => ({
      label: `${r.name} · ${k}`,
      value: k === 'clean' ? r.clean : (r.perturbed[k] ?? 0),
      kind: 'member',
    })),
  );
  return barChart('Accuracy under perturbations (validation)', flat, (v) => `${(100 * v).toFixed(1)} %`);
}

export function renderReportHtml(r: JobReport): string {
  const table = r.rows
    .map(
      (x) =>
        `<tr class="${x.kind}"><td>${esc(x.name)}</td><td>${x.kind}</td><td>${(100 * x.accuracy).toFixed(2)}</td><td>${(100 * x.macroF1).toFixed(2)}</td><td>${x.logLoss.toFixed(4)}</td><td>${x.ece.toFixed(4)}</td><td>${x.bytes}</td><td>${x.costUnits}</td></tr>`,
    )
    .join('');
  const bars = (key: 'accuracy' | 'logLoss' | 'bytes', fmt: (v: number) => string, title: string) =>
    barChart(
      title,
      r.rows.map((x) => ({ label: x.name, value: x[key], kind: x.kind })),
      fmt,
    );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chorus job ${esc(r.id)} — ${esc(r.kind)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}tr.candidate{background:#fde}tr.ensemble{background:#efe}svg text{font-size:12px}svg .title{font-weight:bold;font-size:14px}.gate{padding:8px;border-radius:4px}.pass{background:#dfd}.fail{background:#fdd}</style>
</head><body>
<h1>Job ${esc(r.id)}: ${esc(r.kind)} on <code>${esc(r.ensemble)}</code> v${r.baseVersion}</h1>
<p class="gate ${r.gate.passed ? 'pass' : 'fail'}">Quality gate ${r.gate.passed ? 'passed' : 'failed'}: ${esc(r.gate.detail)}</p>
<p>Execution provider: ${esc(r.executionProvider)} · wall time ${r.wallSeconds.toFixed(1)} s</p>
<table><thead><tr><th>model</th><th>kind</th><th>accuracy %</th><th>macro-F1 %</th><th>log-loss</th><th>ECE</th><th>bytes</th><th>cost</th></tr></thead><tbody>${table}</tbody></table>
${bars('accuracy', (v) => `${(100 * v).toFixed(2)} %`, 'Accuracy (validation)')}
${bars('logLoss', (v) => v.toFixed(4), 'Log-loss (validation, lower is better)')}
${bars('bytes', (v) => `${(v / 1024).toFixed(0)} KiB`, 'Model bytes')}
${reliabilityChart(r.reliability)}
${paretoChart(r.rows)}
${robustnessChart(r.robustness)}
<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
</body></html>
`;
}
