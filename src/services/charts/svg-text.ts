// Escaping and number formatting for server-drawn SVG. Labels (workflow and repository
// names) are attacker-controlled: every text node and attribute value goes through escapeXml.

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Coordinates with at most one decimal: short markup, no float noise. */
export function coord(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export function truncateLabel(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '—';
  const pct = (part / whole) * 100;
  return `${pct < 10 && pct > 0 ? pct.toFixed(1) : Math.round(pct)} %`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = seconds / 60;
  if (minutes < 60) return `${Math.round(minutes)} min`;
  const hours = minutes / 60;
  const oneDecimal = (n: number) => String(Math.round(n * 10) / 10);
  if (hours < 48) return `${hours < 10 ? oneDecimal(hours) : Math.round(hours)} h`;
  return `${oneDecimal(hours / 24)} d`;
}
