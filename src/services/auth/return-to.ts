// Where to send a browser after sign-in: only a relative path on this origin. Anything
// that a browser could resolve to another host ("//evil", "/\evil", "https://…", control
// characters) is refused.
export const DEFAULT_RETURN_TO = '/admin';

export function safeReturnTo(value: unknown, publicUrl: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) return null;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  // Browsers strip tabs and newlines and treat "\" as "/": refuse rather than guess.
  if (/[\p{Cc}\\]/u.test(value)) return null;
  let url: URL;
  try {
    const base = new URL(publicUrl);
    url = new URL(value, base);
    if (url.origin !== base.origin) return null;
  } catch {
    return null;
  }
  return `${url.pathname}${url.search}${url.hash}`;
}
