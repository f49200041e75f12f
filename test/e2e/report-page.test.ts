/**
 * The job report page as a reader sees it: rendered by the container's renderReportHtml (Vega-Lite
 * → SVG in Node) from a report with every chart's data, opened in Debian's chromium, and measured:
 * axes with titles, ticks and labels, legends that fit, marks drawn, scales fitted to the values.
 * The screenshot is kept at .cache/report-sample.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../functions/container/report-html';
import { type DrawnChart, type DrawnReport, inspectReport } from '../browser/report-page';
import { sampleReport } from '../browser/sample-report';

const report = sampleReport();
let html = '';
let drawn: DrawnReport;
const chart = (id: string): DrawnChart => {
  const c = drawn.detail.find((x) => x.id === id);
  if (!c) throw new Error(`no chart ${id}`);
  return c;
};
const percent = (label: string) => Number(label.replace('%', '').replace('−', '-'));

beforeAll(async () => {
  html = await renderReportHtml(report);
  mkdirSync('.cache', { recursive: true });
  const file = resolve('.cache/report-sample.html');
  writeFileSync(file, html);
  drawn = await inspectReport(`file://${file}`, join(process.cwd(), '.cache/report-sample.png'));
});

describe('job report page (Vega-Lite charts rendered to SVG)', () => {
  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)=["']?https?:/i);
    expect(html).toContain('<svg');
  });

  it('draws every chart with titled axes, ticks and tick labels, and legends that fit', () => {
    expect(drawn.charts).toEqual([
      'Accuracy (validation)',
      'Log-loss (validation, lower is better)',
      'Model bytes',
      'reliability',
      'pareto',
      'Accuracy under perturbations (validation)',
      'roc-pr',
    ]);
    for (const c of drawn.detail) {
      expect(c.width * c.height, c.id).toBeGreaterThan(50_000);
      expect(c.axes.length, c.id).toBeGreaterThanOrEqual(2);
      for (const a of c.axes) {
        expect(a.ticks, `${c.id}: ${a.title}`).toBeGreaterThanOrEqual(2);
        expect(a.labels.filter((l) => l.length > 0).length, `${c.id}: ${a.title}`).toBeGreaterThanOrEqual(2);
      }
      // every quantitative axis says what it measures (the model-name bands of one chart need no title)
      expect(c.axes.filter((a) => a.title.length > 0).length, c.id).toBeGreaterThanOrEqual(c.axes.length - 1);
      expect(c.legends.length, c.id).toBeGreaterThanOrEqual(1);
      for (const l of c.legends) {
        expect(l.inside, `${c.id}: legend ${l.title}`).toBe(true);
        expect(
          l.labels.every((x) => !x.endsWith('…')),
          `${c.id}: ${l.labels.join(', ')}`,
        ).toBe(true);
      }
      expect(c.overflowingTexts, c.id).toBe(0);
    }
  });

  it('labels units: accuracy in %, sizes in KiB, log-loss in nats, perturbations in points', () => {
    const accuracy = chart('Accuracy (validation)').axes[0];
    expect(accuracy?.labels.every((l) => l.endsWith('%'))).toBe(true);
    expect(chart('Model bytes').axes[0]?.title).toMatch(/KiB/);
    expect(chart('Log-loss (validation, lower is better)').axes[0]?.title).toMatch(/nats/);
    expect(chart('Accuracy under perturbations (validation)').axes[0]?.title).toMatch(/percentage points/);
    expect(chart('pareto').axes[0]?.title).toMatch(/KiB, log scale/);
  });

  it('scales accuracy and perturbations to show differences, not from 0', () => {
    const accuracies = report.rows.map((r) => 100 * r.accuracy);
    const axis = chart('Accuracy (validation)').axes[0]?.labels.map(percent) ?? [];
    expect(Math.min(...axis)).toBeGreaterThan(Math.min(...accuracies) - 5);
    expect(Math.max(...axis)).toBeLessThanOrEqual(100);
    // the largest perturbation drop is 1.9 points: the axis spans a few points, not 0–100
    const deltas = chart('Accuracy under perturbations (validation)').axes[0]?.labels.map(percent) ?? [];
    expect(Math.max(...deltas) - Math.min(...deltas)).toBeLessThan(5);
  });

  it('draws one mark per model, per reliability curve and bin, and each operating point', () => {
    const rows = report.rows.length;
    expect(chart('Accuracy (validation)').marks.values).toBe(rows);
    expect(chart('Model bytes').marks.values).toBe(rows);
    expect(drawn.bars).toBe(3 * rows);
    expect(drawn.paretoPoints).toBe(rows);
    expect(drawn.reliabilityCurves).toBe(report.reliability.length);
    const bins = report.reliability.reduce((s, c) => s + c.bins.length, 0);
    expect(Object.values(chart('reliability').marks)).toContain(bins);
    const perturbations = report.robustness.reduce((s, r) => s + Object.keys(r.perturbed).length, 0);
    // a change of 0 draws a bar of no length; every other change is a visible bar
    const changed = report.robustness.reduce(
      (s, r) => s + Object.values(r.perturbed).filter((v) => Math.abs(v - r.clean) > 1e-9).length,
      0,
    );
    expect(chart('Accuracy under perturbations (validation)').marks.values).toBe(changed);
    expect(changed).toBeLessThan(perturbations);
    const curves = report.curves?.length ?? 0;
    expect(curves).toBe(2);
    expect(chart('roc-pr').marks).toMatchObject({ roc_curve: curves, roc_operating: curves, pr_operating: curves });
    expect(drawn.gate).toMatch(/Quality gate passed/);
  });
});
