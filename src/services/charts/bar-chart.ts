// A horizontal bar chart as inline SVG markup, drawn on the server: no script, no CDN, no
// style attributes (the CSP forbids them); colours are SVG presentation attributes.
import { coord, escapeXml, truncateLabel } from './svg-text.ts';

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. "of 40 runs". */
  detail?: string;
  /** This bar's colour instead of the chart's. */
  color?: string;
}

export interface BarChartOptions {
  /** Accessible name of the chart. */
  title: string;
  width?: number;
  color?: string;
  labelWidth?: number;
}

const BAR_HEIGHT = 16;
const GAP = 8;
const LABEL_CHARS = 32;

export function barChart(bars: readonly Bar[], opts: BarChartOptions): string {
  const width = opts.width ?? 420;
  const labelWidth = opts.labelWidth ?? 170;
  const valueRoom = 90;
  const plot = Math.max(10, width - labelWidth - valueRoom);
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = Math.max(1, bars.length) * (BAR_HEIGHT + GAP) + GAP;
  const color = escapeXml(opts.color ?? '#1f6feb');
  const rows = bars.map((bar, i) => {
    const y = GAP + i * (BAR_HEIGHT + GAP);
    const w = bar.value <= 0 ? 0 : Math.max(2, (bar.value / max) * plot);
    const label = escapeXml(truncateLabel(bar.label, LABEL_CHARS));
    const value = escapeXml(`${bar.value}${bar.detail ? ` ${bar.detail}` : ''}`);
    return (
      `<g><title>${escapeXml(`${bar.label}: ${bar.value}${bar.detail ? ` ${bar.detail}` : ''}`)}</title>` +
      `<text x="${coord(labelWidth - 6)}" y="${coord(y + BAR_HEIGHT - 4)}" text-anchor="end">${label}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${coord(w)}" height="${BAR_HEIGHT}" rx="2" fill="${bar.color ? escapeXml(bar.color) : color}"></rect>` +
      `<text x="${coord(labelWidth + w + 4)}" y="${coord(y + BAR_HEIGHT - 4)}">${value}</text></g>`
    );
  });
  const empty =
    bars.length === 0
      ? `<text x="${coord(width / 2)}" y="${coord(height / 2 + 4)}" text-anchor="middle">No data yet</text>`
      : '';
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${escapeXml(opts.title)}">` +
    `<title>${escapeXml(opts.title)}</title>${rows.join('')}${empty}</svg>`
  );
}
