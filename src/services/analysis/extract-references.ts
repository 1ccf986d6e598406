// Finds source locations (file, line, column) named in a log line, as repository-relative
// paths, and drops frames that point into dependencies, toolchains or the runtime.
//
// Locations are found with a hand-written scanner: a regex such as [\w./-]+\.\w+:\d+ run
// over every position of a long path-like word backtracks quadratically. The scanner
// starts only at ":<digit>", "(<digit>" and ":[<digit>" and walks left over path
// characters, so each character is looked at a bounded number of times.

import type { ErrorReference } from './types.ts';

const SOURCE_EXTENSIONS = new Set([
  'ts', 'tsx', 'mts', 'cts', 'js', 'jsx', 'mjs', 'cjs', 'vue', 'svelte', 'astro',
  'py', 'pyi', 'go', 'rs', 'c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'hxx', 'm', 'mm',
  'java', 'kt', 'kts', 'scala', 'groovy', 'gradle', 'rb', 'php', 'cs', 'fs', 'vb', 'swift',
  'dart', 'ex', 'exs', 'erl', 'hs', 'lua', 'pl', 'sh', 'bash', 'zig', 'clj', 'elm', 'sol',
  'yml', 'yaml', 'json', 'toml', 'xml', 'sql', 'proto', 'tf', 'html', 'css', 'scss', 'less',
  'md', 'mdx', 'cfg', 'ini', 'mod', 'sum', 'cmake', 'txt', 'lock',
]); // prettier-ignore

// Paths that belong to installed dependencies, toolchains or the runtime, not the repository.
const FOREIGN_PATH_PARTS = [
  'node_modules/',
  'site-packages/',
  'dist-packages/',
  '/usr/lib/',
  '/usr/local/lib/',
  '/usr/include/',
  '/usr/share/',
  '/opt/hostedtoolcache/',
  '/usr/local/go/',
  '/rustc/',
  '/.cargo/registry/',
  '/.cargo/git/',
  '/.rustup/',
  '/go/pkg/mod/',
  '/.m2/repository/',
  '/.gradle/caches/',
  '/.pnpm-store/',
  '/.yarn/cache/',
  '/.npm/',
  '/_temp/',
  '<anonymous>',
];

// Stack frames of the JVM's own packages and of test runners.
const FOREIGN_JAVA_FRAME =
  /^\s*at (?:java|javax|jdk|sun|kotlin|kotlinx|scala|org\.junit|junit|org\.opentest4j|org\.testng|org\.apache\.maven|org\.gradle|worker\.org\.gradle)\./;

// Where the runner checks out the repository: /home/runner/work/<repo>/<repo>/ on Linux,
// /Users/runner/work/… on macOS, D:\a\<repo>\<repo>\ on Windows, /__w/<repo>/<repo>/ in containers.
const WORKSPACE_PATH = String.raw`(?:/home/runner/work|/Users/runner/work|[A-Za-z]:[\\/]a|/__w)[\\/][^\\/\s'"]+[\\/][^\\/\s'"]+[\\/]`;
const WORKSPACE = new RegExp(`^${WORKSPACE_PATH}`);
const WORKSPACE_ANYWHERE = new RegExp(`(?:file://)?${WORKSPACE_PATH}`, 'g');

const PYTHON_FRAME = /File "([^"]{1,500})", line (\d+)/;

export function extractReferences(line: string): ErrorReference[] {
  if (FOREIGN_JAVA_FRAME.test(line)) return [];
  const found: ErrorReference[] = [];
  const python = PYTHON_FRAME.exec(line);
  if (python) {
    const [, path = '', line = ''] = python;
    const file = toRepositoryPath(path);
    if (file !== undefined) found.push({ file, line: Number(line) });
    return found;
  }
  for (let i = 1; i < line.length - 1; i++) {
    const c = line[i];
    if (c !== ':' && c !== '(') continue;
    const location = readLocation(line, i);
    if (location === undefined) continue;
    const file = toRepositoryPath(readPathBefore(line, i));
    if (file !== undefined) {
      const ref: ErrorReference = { file, line: location.line };
      if (location.column !== undefined) ref.column = location.column;
      found.push(ref);
    }
    i = location.end - 1;
  }
  return found;
}

/** The text with the runner's checkout directory cut out of paths, so they read as repository paths. */
export function stripWorkspace(text: string): string {
  return text.replace(WORKSPACE_ANYWHERE, '');
}

/**
 * The repository-relative form of a path from a log, or undefined when the path is not a
 * source file of the repository (no known extension, or inside dependencies or toolchains).
 */
export function toRepositoryPath(raw: string): string | undefined {
  let path = raw.replaceAll('\\', '/');
  if (path.startsWith('file:///')) path = path.slice('file://'.length);
  if (FOREIGN_PATH_PARTS.some((part) => path.includes(part))) return undefined;
  path = path.replace(WORKSPACE, '');
  while (path.startsWith('./')) path = path.slice(2);
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  if (!SOURCE_EXTENSIONS.has(name.slice(dot + 1).toLowerCase())) return undefined;
  return path;
}

interface Location {
  line: number;
  column?: number;
  /** Index just past the location text. */
  end: number;
}

// Recognises ":12", ":12:5", "(12,5)" and ":[12,5]" (Maven) starting at index i.
function readLocation(text: string, i: number): Location | undefined {
  if (text[i] === '(') {
    const line = readNumber(text, i + 1);
    if (!line || text[line.end] !== ',') return undefined;
    const column = readNumber(text, line.end + 1);
    if (!column || text[column.end] !== ')') return undefined;
    return { line: line.value, column: column.value, end: column.end + 1 };
  }
  if (text[i + 1] === '[') {
    const line = readNumber(text, i + 2);
    if (!line || text[line.end] !== ',') return undefined;
    const column = readNumber(text, line.end + 1);
    if (!column || text[column.end] !== ']') return undefined;
    return { line: line.value, column: column.value, end: column.end + 1 };
  }
  const line = readNumber(text, i + 1);
  if (!line) return undefined;
  if (text[line.end] === ':') {
    const column = readNumber(text, line.end + 1);
    if (column) return { line: line.value, column: column.value, end: column.end };
  }
  return { line: line.value, end: line.end };
}

function readNumber(text: string, from: number): { value: number; end: number } | undefined {
  let end = from;
  while (end < text.length && end - from < 7 && isDigit(text.charCodeAt(end))) end++;
  if (end === from) return undefined;
  return { value: Number(text.slice(from, end)), end };
}

function readPathBefore(text: string, end: number): string {
  let start = end;
  while (start > 0 && isPathChar(text.charCodeAt(start - 1))) start--;
  // A Windows drive letter ("D:\a\…") is cut off by the colon; take it back.
  if (
    start >= 2 &&
    text[start - 1] === ':' &&
    (text[start] === '\\' || text[start] === '/') &&
    /[A-Za-z]/.test(text.charAt(start - 2)) &&
    (start === 2 || !isPathChar(text.charCodeAt(start - 3)))
  ) {
    start -= 2;
  }
  const path = text.slice(start, end);
  // "file:///home/x.ts" reaches here as "///home/x.ts"; other "//host/…" are URLs, not files.
  if (path.startsWith('//')) return text.startsWith('file:', start - 5) ? path.slice(2) : '';
  return path;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isPathChar(code: number): boolean {
  return (
    isDigit(code) ||
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 46 || // .
    code === 47 || // /
    code === 92 || // \
    code === 95 || // _
    code === 45 || // -
    code === 64 || // @
    code === 43 || // +
    code === 126 // ~
  );
}
