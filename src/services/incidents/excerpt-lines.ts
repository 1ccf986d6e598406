// The stored log excerpt as lines, each marked when it belongs to an error block, so pages
// can highlight the errors. The same extractor that analysed the log decides.
import { extractErrors } from '../analysis/extract-errors.ts';

export interface ExcerptLine {
  text: string;
  error: boolean;
}

export function excerptLines(excerpt: string | null): ExcerptLine[] {
  if (!excerpt) return [];
  const lines = excerpt.split('\n');
  const marked = new Array<boolean>(lines.length).fill(false);
  for (const block of extractErrors(lines)) {
    for (let i = 0; i < block.lines.length; i++) {
      const at = block.startLine + i;
      if (at < marked.length) marked[at] = true;
    }
  }
  lines.forEach((line, i) => {
    if (line.startsWith('##[error]')) marked[i] = true;
  });
  return lines.map((text, i) => ({ text, error: marked[i] ?? false }));
}
