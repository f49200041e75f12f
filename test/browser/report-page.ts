/**
 * Opens a job report in Debian's chromium (playwright-core drives the system browser; nothing is
 * downloaded) and reports what was actually drawn. The charts are Vega SVG: axes are
 * `g.role-axis` groups (ticks `g.role-axis-tick line`, labels `g.role-axis-label text`, title
 * `g.role-axis-title text`), legends `g.role-legend`, and a chart's marks are `g.{name}_marks`,
 * `name` being the layer's name in functions/container/report-charts.ts.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface DrawnAxis {
  title: string;
  ticks: number;
  labels: string[];
}

export interface DrawnChart {
  id: string;
  width: number;
  height: number;
  axes: DrawnAxis[];
  legends: { title: string; labels: string[]; inside: boolean }[];
  /** marks by layer name (`values`, `points`, `curve`, `roc_operating`, …) that cover some area */
  marks: Record<string, number>;
  /** distinct colours among those marks, by layer name: the series drawn */
  colours: Record<string, number>;
  /** text elements that stick out of the chart's own box */
  overflowingTexts: number;
}

export interface DrawnReport {
  charts: string[];
  boxes: { width: number; height: number }[];
  /** marks of the per-model charts (accuracy, log-loss, bytes) */
  bars: number;
  paretoPoints: number;
  /** models whose reliability points are drawn (a model whose rows all fall in one bin is one point) */
  reliabilityCurves: number;
  gate: string;
  detail: DrawnChart[];
}

/**
 * What the page drew, measured in the page. A string, not a function: the test runners' transforms
 * wrap named functions in a helper (`__name`) that does not exist in the page.
 */
const PAGE_SCRIPT = `(() => {
  const texts = (root, selector) => Array.from(root.querySelectorAll(selector)).map((t) => t.textContent ?? '');
  const drawn = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 || r.height > 0; };
  // a mark counts when it covers area: a bar of length 0 is not drawn, whatever its thickness
  const covers = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  return Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
    const box = svg.getBoundingClientRect();
    const inside = (e) => {
      const r = e.getBoundingClientRect();
      return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    };
    const marks = {};
    const colours = {};
    for (const g of svg.querySelectorAll('g.role-mark')) {
      const name = Array.from(g.classList).find((c) => c.endsWith('_marks'));
      if (!name) continue;
      const key = name.slice(0, -'_marks'.length);
      // a line is drawn when it has length: one along an axis (accuracy 100 % in every bin) has no height
      const shown = Array.from(g.children).filter(g.classList.contains('mark-line') ? drawn : covers);
      marks[key] = (marks[key] ?? 0) + shown.length;
      // series told apart by colour (one per model in a legend), across the layer's groups
      const seen = colours[key] ?? new Set();
      for (const e of shown) seen.add(e.getAttribute('fill') ?? e.getAttribute('stroke'));
      colours[key] = seen;
    }
    return {
      id: svg.getAttribute('data-chart') ?? '',
      width: box.width,
      height: box.height,
      axes: Array.from(svg.querySelectorAll('g.role-axis'))
        .filter((a) => a.getAttribute('aria-hidden') !== 'true')
        .map((a) => ({
          title: texts(a, 'g.role-axis-title text').join(' '),
          ticks: a.querySelectorAll('g.role-axis-tick line').length,
          labels: texts(a, 'g.role-axis-label text'),
        })),
      legends: Array.from(svg.querySelectorAll('g.role-legend')).map((l) => ({
        title: texts(l, 'g.role-legend-title text').join(' '),
        labels: texts(l, 'g.role-legend-label text'),
        inside: inside(l),
      })),
      marks,
      colours: Object.fromEntries(Object.entries(colours).map(([k, v]) => [k, v.size])),
      overflowingTexts: Array.from(svg.querySelectorAll('text')).filter((t) => drawn(t) && !inside(t)).length,
    };
  });
})()`;

export async function inspectReport(url: string, screenshot?: string): Promise<DrawnReport> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(url, { waitUntil: 'load' });
    const detail = (await page.evaluate(PAGE_SCRIPT)) as DrawnChart[];
    const gate = await page.evaluate(() => document.querySelector('.gate')?.textContent ?? '');
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    const of = (id: string) => detail.find((c) => c.id === id);
    const metricIds = ['Accuracy (validation)', 'Log-loss (validation, lower is better)', 'Model bytes'];
    return {
      charts: detail.map((c) => c.id),
      boxes: detail.map((c) => ({ width: c.width, height: c.height })),
      bars: metricIds.reduce((s, id) => s + (of(id)?.marks.values ?? 0), 0),
      paretoPoints: of('pareto')?.marks.points ?? 0,
      reliabilityCurves: of('reliability')?.colours.bins ?? 0,
      gate,
      detail,
    };
  } finally {
    await browser.close();
  }
}
