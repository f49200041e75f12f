/**
 * Opens a job report in Debian's chromium (playwright-core drives the system browser; nothing is
 * downloaded) and reports what was actually drawn.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface DrawnReport {
  charts: string[];
  boxes: { width: number; height: number }[];
  bars: number;
  paretoPoints: number;
  reliabilityCurves: number;
  gate: string;
}

export async function inspectReport(url: string, screenshot?: string): Promise<DrawnReport> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(url, { waitUntil: 'load' });
    const drawn = await page.evaluate(() => {
      const charts = Array.from(document.querySelectorAll('svg.chart'));
      return {
        charts: charts.map((c) => c.getAttribute('data-chart') ?? ''),
        boxes: charts.map((c) => {
          const r = c.getBoundingClientRect();
          return { width: r.width, height: r.height };
        }),
        bars: Array.from(document.querySelectorAll('svg.chart rect.bar')).filter(
          (r) => r.getBoundingClientRect().width > 0,
        ).length,
        paretoPoints: document.querySelectorAll('svg[data-chart="pareto"] circle.point').length,
        reliabilityCurves: document.querySelectorAll('svg[data-chart="reliability"] polyline.curve').length,
        gate: document.querySelector('.gate')?.textContent ?? '',
      };
    });
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return drawn;
  } finally {
    await browser.close();
  }
}
