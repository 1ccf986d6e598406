// Daily runs as stacked columns (failed on top of passed) with the day's failure rate in
// each column's tooltip: inline SVG drawn on the server, presentation attributes only.
import { coord, escapeXml, formatPercent } from './svg-text.ts';

export interface DayCount {
  /** YYYY-MM-DD */
  day: string;
  total: number;
  failed: number;
}

const OK = '#1a7f37';
const BAD = '#cf222e';

export function runColumns(
  days: readonly DayCount[],
  opts: { title: string; width?: number; height?: number },
): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 140;
  const axis = 18;
  const top = 6;
  const plotHeight = height - axis - top;
  const slot = days.length === 0 ? width : width / days.length;
  const barWidth = Math.max(2, slot - 3);
  const max = Math.max(1, ...days.map((d) => d.total));
  const columns = days.map((d, i) => {
    const x = i * slot + (slot - barWidth) / 2;
    const totalH = (d.total / max) * plotHeight;
    const failedH = (d.failed / max) * plotHeight;
    const passedH = totalH - failedH;
    const baseY = top + plotHeight;
    const tip = escapeXml(
      `${d.day}: ${d.total} run${d.total === 1 ? '' : 's'}, ${d.failed} failed (${formatPercent(d.failed, d.total)})`,
    );
    return (
      `<g><title>${tip}</title>` +
      `<rect x="${coord(x)}" y="${coord(top)}" width="${coord(barWidth)}" height="${coord(plotHeight)}" fill="transparent"></rect>` +
      (passedH > 0
        ? `<rect x="${coord(x)}" y="${coord(baseY - totalH)}" width="${coord(barWidth)}" height="${coord(passedH)}" fill="${OK}"></rect>`
        : '') +
      (failedH > 0
        ? `<rect x="${coord(x)}" y="${coord(baseY - failedH)}" width="${coord(barWidth)}" height="${coord(failedH)}" fill="${BAD}"></rect>`
        : '') +
      `</g>`
    );
  });
  const first = days[0]?.day ?? '';
  const last = days.at(-1)?.day ?? '';
  const labels =
    `<text x="0" y="${height - 4}">${escapeXml(first)}</text>` +
    `<text x="${width}" y="${height - 4}" text-anchor="end">${escapeXml(last)}</text>` +
    `<text x="${coord(width / 2)}" y="${height - 4}" text-anchor="middle">max ${max} runs/day</text>`;
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${escapeXml(opts.title)}">` +
    `<title>${escapeXml(opts.title)}</title>` +
    `<line x1="0" y1="${top + plotHeight}" x2="${width}" y2="${top + plotHeight}" stroke="#dde1e6"></line>` +
    `${columns.join('')}${labels}</svg>`
  );
}
