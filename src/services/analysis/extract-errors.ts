// Finds the error blocks in the lines of a failed step: which tool printed them, the one-line
// message, the lines that belong to each error and the source locations they name.
//
// Each tool's output format is recognised by a matcher that looks at the line where an
// error starts and decides how far the error runs. Matchers are tried in order, most
// specific first; the first that recognises a line wins and the lines it claims are not
// matched again. All patterns are anchored or start with a literal, and lines are capped
// by parse-log, so a hostile log cannot make matching slow.

import { extractReferences, stripWorkspace, toRepositoryPath } from './extract-references.ts';
import type { ErrorBlock, ErrorReference } from './types.ts';

/** Lines kept per block; the block may run longer. */
export const MAX_BLOCK_LINES = 40;
/** Blocks kept per log; a log with thousands of lint errors needs no more to be understood. */
export const MAX_BLOCKS = 1000;
const MAX_MESSAGE_LENGTH = 300;

type Kind = 'detail' | 'summary' | 'generic' | 'ignored';

interface Match {
  message: string;
  tool?: string;
  /**
   * detail: names the cause. summary: restates a failure that a detail block of the same
   * tool usually explains (dropped when one exists). generic: only says a command failed.
   * ignored: output that looks like an error but is not one (jest's console output); its
   * lines are skipped and no block is made.
   */
  kind: Kind;
  /** Index just past the block's last line. */
  end: number;
  /** For blocks whose lines start before the line that identified them. */
  start?: number;
  references?: ErrorReference[];
}

interface Context {
  lines: readonly string[];
  eslintFile?: string;
  goTest?: string;
  /** What the last "# package" header said: "# pkg" is go build's, "# [pkg]" go vet's. */
  goHeader?: 'build' | 'vet';
  /** The step runs `go vet` itself ("##[group]Run go vet ./..."). */
  goVetStep: boolean;
  mochaFailures: boolean;
  mavenResults: boolean;
  /** Inside PHPUnit's "There were N failures:" (or errors) list. */
  phpunitFailures: boolean;
}

type Matcher = (line: string, i: number, ctx: Context) => Match | undefined;

interface Found extends ErrorBlock {
  kind: Kind;
}

export function extractErrors(lines: readonly string[]): ErrorBlock[] {
  const ctx: Context = {
    lines,
    goVetStep: false,
    mochaFailures: false,
    mavenResults: false,
    phpunitFailures: false,
  };
  const found: Found[] = [];
  let i = 0;
  while (i < lines.length && found.length < MAX_BLOCKS) {
    const raw = textAt(lines, i);
    updateContext(ctx, raw);
    const line = raw.startsWith('##[error]') ? raw.slice('##[error]'.length) : raw;
    const match = matchLine(line, i, ctx) ?? (line === raw ? undefined : actionsError(line, i));
    if (!match) {
      i++;
      continue;
    }
    if (match.kind !== 'ignored') found.push(toBlock(lines, i, match));
    const end = Math.max(match.end, i + 1);
    for (let j = i + 1; j < end; j++) updateContext(ctx, textAt(lines, j));
    i = end;
  }
  return dedupe(found);
}

function matchLine(line: string, i: number, ctx: Context): Match | undefined {
  for (const matcher of MATCHERS) {
    const match = matcher(line, i, ctx);
    if (match) return match;
  }
  return undefined;
}

function toBlock(lines: readonly string[], i: number, match: Match): Found {
  const start = match.start ?? i;
  const end = Math.max(match.end, i + 1);
  const blockLines = lines.slice(start, Math.min(end, start + MAX_BLOCK_LINES));
  const references = [...(match.references ?? [])];
  for (const line of blockLines) references.push(...extractReferences(line));
  const block: Found = {
    message: cleanMessage(stripWorkspace(match.message)),
    lines: blockLines,
    startLine: start,
    references: uniqueReferences(references),
    generic: match.kind === 'generic',
    kind: match.kind,
  };
  if (match.tool !== undefined) block.tool = match.tool;
  return block;
}

function dedupe(found: readonly Found[]): ErrorBlock[] {
  const detailTools = new Set(found.filter((b) => b.kind === 'detail').map((b) => b.tool));
  const seen = new Set<string>();
  const kept: Found[] = [];
  for (const block of found) {
    if (block.kind === 'summary' && detailTools.has(block.tool)) continue;
    const first = block.references[0];
    const key = `${block.message}\u0000${first ? `${first.file}:${first.line}` : ''}`;
    if (seen.has(key)) continue;
    // "##[error]<message>" annotations repeat what the tool already printed.
    if (
      (block.tool === undefined || block.tool === 'github-actions') &&
      block.message.length >= 10 &&
      kept.some((k) => k.message.includes(block.message))
    ) {
      continue;
    }
    seen.add(key);
    kept.push(block);
  }
  return kept.sort((a, b) => a.startLine - b.startLine).map(({ kind: _kind, ...block }) => block);
}

function updateContext(ctx: Context, line: string): void {
  if (/^\s*\d+ failing\b/.test(line)) ctx.mochaFailures = true;
  // go test -v names the test before its output; without -v the output follows "--- FAIL".
  const run = /^(?:=== (?:RUN|CONT|NAME)|\s*--- FAIL:)\s+(\S+)/.exec(line);
  if (run) ctx.goTest = run[1];
  // A package's result line ends its tests: a later panic belongs to no test named so far.
  else if (/^(?:ok|FAIL|PASS)(?:\s|$)/.test(line)) ctx.goTest = undefined;
  if (line.startsWith('# ')) {
    if (/^# \[[^\s\]]+\]$/.test(line)) ctx.goHeader = 'vet';
    else if (/^# [^\s[]+(?: \[[^\s\]]+\])?$/.test(line)) ctx.goHeader = 'build';
  }
  if (/^##\[group\]Run go vet\b/.test(line)) ctx.goVetStep = true;
  const phpunit = /^There (?:was|were) \d+ ([a-zA-Z ]+):$/.exec(line);
  if (phpunit) ctx.phpunitFailures = /^(?:failures?|errors?)$/.test(textAt(phpunit, 1));
  else if (line === 'FAILURES!' || line === 'ERRORS!') ctx.phpunitFailures = false;
  if (line.startsWith('[ERROR] Failures:') || line.startsWith('[ERROR] Errors:')) {
    ctx.mavenResults = true;
  } else if (line.startsWith('[INFO]') || line.startsWith('[ERROR] Tests run:')) {
    ctx.mavenResults = false;
  }
  if (/^[^\s]+$/.test(line) && /[/\\]/.test(line)) {
    const file = toRepositoryPath(line);
    if (file !== undefined) ctx.eslintFile = file;
  }
}

// ---------------------------------------------------------------------------------------
// Test runners

const jest: Matcher = (line, i, ctx) => {
  const m = /^(\s*)● (.+)$/.exec(line);
  if (!m) return undefined;
  const title = textAt(m, 2).trim();
  if (/^(?:Deprecation|Validation) Warning/.test(title)) return undefined;
  const indent = textAt(m, 1).length;
  const inBlock = (l: string) => isBlank(l) || indentOf(l) > indent;
  // What a suite logged (console.log/warn/error), printed for passing suites too: its
  // lines are skipped, so nothing in them is taken for an error.
  if (title === 'Console') {
    return { message: title, kind: 'ignored', end: scanWhile(ctx.lines, i + 1, 500, inBlock) };
  }
  const end = scanWhile(ctx.lines, i + 1, 80, inBlock);
  return {
    message: withDetail(title, firstContent(ctx.lines, i + 1, end)),
    tool: 'jest',
    kind: 'detail',
    end,
  };
};

const vitest: Matcher = (line, i, ctx) => {
  const m = /^\s*FAIL\s+(\S+\.\w+)\s+(?:> (.+)|\[ .+ \])$/.exec(line);
  if (!m) return undefined;
  const end = scanWhile(
    ctx.lines,
    i + 1,
    80,
    (l) => !l.trimStart().startsWith('⎯') && !/^\s*FAIL\s/.test(l) && !l.startsWith('##['),
  );
  const title = m[2] ?? textAt(m, 1);
  return {
    message: withDetail(title, firstContent(ctx.lines, i + 1, end)),
    tool: 'vitest',
    kind: 'detail',
    end,
  };
};

const mocha: Matcher = (line, i, ctx) => {
  if (!ctx.mochaFailures) return undefined;
  const m = /^\s{0,4}\d+\) (.+)$/.exec(line);
  if (!m) return undefined;
  const titles = [textAt(m, 1).trim()];
  let j = i + 1;
  // Nested titles follow on their own lines; the last ends with ":" and the error comes next.
  while (!titles[titles.length - 1]?.endsWith(':') && j < ctx.lines.length && j < i + 8) {
    const next = textAt(ctx.lines, j).trim();
    if (next === '' || /^(?:[\w.]*(?:Error|Exception)\b|at )/.test(next)) break;
    titles.push(next);
    j++;
  }
  const end = scanWhile(
    ctx.lines,
    j,
    60,
    (l) => !/^\s*\d+\) /.test(l) && !l.startsWith('##[') && !/^npm (?:ERR!|error) /.test(l),
  );
  const title = titles.join(' ').replace(/:$/, '');
  return {
    message: withDetail(title, firstContent(ctx.lines, j, end)),
    tool: 'mocha',
    kind: 'detail',
    end,
  };
};

// PHPUnit lists failures and errors after "There was 1 failure:" / "There were 2 errors:";
// the same list shape under "There was 1 risky test:" (or skipped, incomplete…) is not a failure.
const phpunit: Matcher = (line, i, ctx) => {
  if (ctx.phpunitFailures) {
    const m = /^\d+\) (\S.*)$/.exec(line);
    if (m) {
      const end = scanWhile(
        ctx.lines,
        i + 1,
        60,
        (l) =>
          !/^\d+\) \S/.test(l) &&
          !/^(?:FAILURES!|ERRORS!|--)$/.test(l) &&
          !l.startsWith('There w') &&
          !l.startsWith('##['),
      );
      return {
        message: withDetail(textAt(m, 1).trim(), firstContent(ctx.lines, i + 1, end)),
        tool: 'phpunit',
        kind: 'detail',
        end: trimBlankEnd(ctx.lines, i, end),
      };
    }
  }
  if (/^Tests: \d+, Assertions: \d+, (?:Errors|Failures): \d+/.test(line)) {
    return { message: line.trim(), tool: 'phpunit', kind: 'summary', end: i + 1 };
  }
  return undefined;
};

// Playwright prints "✘  3 [chromium] › e2e/cart.spec.ts:9:5 › cart › title (2.1s)" while running
// and, at the end, "  1) [chromium] › e2e/cart.spec.ts:9:5 › cart › title ────" with the error.
const playwright: Matcher = (line, i, ctx) => {
  const detail = /^\s{0,4}\d+\) (?:\[[^\]]{1,100}\] › )?[^\s:›]+:\d+:\d+ › (.+)$/.exec(line);
  if (detail) {
    const end = scanWhile(
      ctx.lines,
      i + 1,
      100,
      (l) =>
        !/^\s{0,4}\d+\) \S/.test(l) &&
        !/^\s*\d+ (?:failed|flaky|passed|skipped|interrupted|did not run)\b/.test(l) &&
        !l.startsWith('##['),
    );
    // The title's location is relative to the test directory; the stack's is the repository's.
    const references = ctx.lines
      .slice(i + 1, end)
      .filter((l) => l.trimStart().startsWith('at '))
      .flatMap((l) => extractReferences(l));
    return {
      message: withDetail(playwrightTitle(textAt(detail, 1)), firstContent(ctx.lines, i + 1, end)),
      tool: 'playwright',
      kind: 'detail',
      end: trimBlankEnd(ctx.lines, i, end),
      references,
    };
  }
  const listed = /^\s*✘\s+\d+ (?:\[[^\]]{1,100}\] › )?[^\s:›]+:\d+:\d+ › (.+)$/.exec(line);
  if (listed) {
    return {
      message: playwrightTitle(textAt(listed, 1)),
      tool: 'playwright',
      kind: 'summary',
      end: i + 1,
    };
  }
  return undefined;
};

/** "suite › title (retry #1) (5.3s) ─────" → "suite › title", without a regex that could backtrack. */
function playwrightTitle(text: string): string {
  let title = text;
  let end = title.length;
  while (end > 0 && (title[end - 1] === '─' || title[end - 1] === ' ')) end--;
  title = title.slice(0, end);
  for (const suffix of [/ \([\d.]+(?:m?s|m)\)$/, / \(retry #\d+\)$/])
    title = title.replace(suffix, '');
  return title;
}

const tap: Matcher = (line, i, ctx) => {
  const m = /^(\s*)not ok \d+(?: -)?(.*)$/.exec(line);
  if (!m) return undefined;
  const description = textAt(m, 2)
    .replace(/ # time=.*$/, '')
    .trim();
  if (/#\s*(?:TODO|SKIP)\b/i.test(description)) return undefined;
  let end = i + 1;
  let detail: string | undefined;
  const references: ErrorReference[] = [];
  if (textAt(ctx.lines, end).trim() === '---') {
    const yamlEnd = scanWhile(ctx.lines, end + 1, 200, (l) => l.trim() !== '...');
    const yaml = ctx.lines.slice(end + 1, yamlEnd);
    detail = tapDetail(yaml);
    const at = tapLocation(yaml);
    if (at) references.push(at);
    end = Math.min(yamlEnd + 1, ctx.lines.length);
  }
  const kind = detail === undefined || /^\d+ subtests? failed/.test(detail) ? 'summary' : 'detail';
  return { message: withDetail(description, detail), tool: 'tap', kind, end, references };
};

function tapDetail(yaml: readonly string[]): string | undefined {
  const message = yamlValue(yaml, 'error') ?? yamlValue(yaml, 'message');
  if (message !== undefined) return message;
  // node-tap says found/wanted, tape says actual/expected.
  const found = yamlValue(yaml, 'found') ?? yamlValue(yaml, 'actual');
  const wanted = yamlValue(yaml, 'wanted') ?? yamlValue(yaml, 'expected');
  return found !== undefined && wanted !== undefined
    ? `expected ${wanted}, got ${found}`
    : undefined;
}

/** A scalar from a TAP YAML diagnostic, following "|-" block scalars to their first line. */
function yamlValue(yaml: readonly string[], key: string): string | undefined {
  const k = yaml.findIndex((l) => l.trimStart().startsWith(`${key}:`));
  if (k === -1) return undefined;
  const value = textAt(yaml, k)
    .trimStart()
    .slice(key.length + 1)
    .trim();
  if (/^[|>][-+]?$/.test(value)) return textAt(yaml, k + 1).trim() || undefined;
  return value.replace(/^(['"])(.*)\1$/, '$2');
}

// node-tap puts the location of a failed assertion in "at: { fileName, lineNumber, columnNumber }".
function tapLocation(yaml: readonly string[]): ErrorReference | undefined {
  const file = toRepositoryPath(yamlValue(yaml, 'fileName') ?? '');
  if (file === undefined) return undefined;
  const ref: ErrorReference = { file };
  const line = Number(yamlValue(yaml, 'lineNumber'));
  const column = Number(yamlValue(yaml, 'columnNumber'));
  if (line > 0) ref.line = line;
  if (column > 0) ref.column = column;
  return ref;
}

const nodeTestSpec: Matcher = (line, i, ctx) => {
  const m = /^(\s*)✖ (.+)$/.exec(line);
  if (!m) return undefined;
  const title = textAt(m, 2)
    .replace(/ \([\d.]+m?s\)$/, '')
    .trim();
  if (title === 'failing tests:') return undefined;
  const indent = textAt(m, 1).length;
  const end = scanWhile(ctx.lines, i + 1, 60, (l) => isBlank(l) || indentOf(l) > indent);
  const detail = firstContent(ctx.lines, i + 1, end);
  const kind =
    detail === undefined || /^'?\d+ subtests? failed/.test(detail) ? 'summary' : 'detail';
  return {
    message: withDetail(title, detail),
    tool: 'node:test',
    kind,
    end: trimBlankEnd(ctx.lines, i, end),
  };
};

const pytestSection: Matcher = (line, i, ctx) => {
  const name = pytestHeader(line);
  if (name === undefined) return undefined;
  const end = scanWhile(
    ctx.lines,
    i + 1,
    300,
    (l) => pytestHeader(l) === undefined && !l.startsWith('=='),
  );
  const body = ctx.lines.slice(i + 1, end);
  const assertion = body.find((l) => /^E\s/.test(l));
  const location = body.findLast((l) => /^\S+\.py:\d+: \w+/.test(l));
  const detail = assertion?.slice(1).trim() ?? location?.replace(/^\S+\.py:\d+: /, '');
  return { message: withDetail(name, detail), tool: 'pytest', kind: 'detail', end };
};

// "_____ test_name _____" without a regex: a lazy (.+?) between two underscore runs can
// backtrack quadratically on a line of underscores.
function pytestHeader(line: string): string | undefined {
  if (!line.startsWith('___') || !line.endsWith('___')) return undefined;
  let start = 0;
  while (line[start] === '_') start++;
  let end = line.length;
  while (end > start && line[end - 1] === '_') end--;
  const name = line.slice(start, end).trim();
  return name === '' ? undefined : name;
}

const pytestSummary: Matcher = (line, i) => {
  const m = /^(?:FAILED|ERROR) (\S+)(?: - (.*))?$/.exec(line);
  if (!m || !m[1]?.includes('.py')) return undefined;
  return { message: withDetail(m[1], m[2]), tool: 'pytest', kind: 'summary', end: i + 1 };
};

const goTest: Matcher = (line, i, ctx) => {
  const detail = /^(\s+)(\S+_test\.go:\d+: .*)$/.exec(line);
  if (detail) {
    const indent = textAt(detail, 1).length;
    const end = scanWhile(ctx.lines, i + 1, 40, (l) => !isBlank(l) && indentOf(l) > indent);
    const text = textAt(detail, 2);
    const message = ctx.goTest ? `${ctx.goTest}: ${text}` : text;
    return { message, tool: 'go test', kind: 'detail', end };
  }
  const failed = /^\s*--- FAIL: (\S+)/.exec(line);
  if (failed)
    return { message: `${failed[1]} failed`, tool: 'go test', kind: 'summary', end: i + 1 };
  if (/^FAIL(?:\s+\S+\s+(?:[\d.]+s|\[build failed\]|\[setup failed\]))?$/.test(line)) {
    return { message: line, tool: 'go test', kind: 'generic', end: i + 1 };
  }
  return undefined;
};

const cargoTest: Matcher = (line, i, ctx) => {
  const stdout = /^---- (\S+) stdout ----$/.exec(line);
  if (stdout) {
    const end = scanWhile(
      ctx.lines,
      i + 1,
      60,
      (l) => !l.startsWith('---- ') && l !== 'failures:' && !l.startsWith('test result:'),
    );
    return {
      message: withDetail(textAt(stdout, 1), panicMessage(ctx.lines, i + 1, end)),
      tool: 'cargo test',
      kind: 'detail',
      end,
    };
  }
  const failed = /^test (\S+) \.\.\. FAILED$/.exec(line);
  if (failed)
    return { message: `${failed[1]} failed`, tool: 'cargo test', kind: 'summary', end: i + 1 };
  return undefined;
};

// Rust 1.73+ prints "panicked at src/lib.rs:12:9:" and the message on the next line;
// older versions print "panicked at 'message', src/lib.rs:12:9".
function panicMessage(lines: readonly string[], from: number, to: number): string | undefined {
  for (let k = from; k < to; k++) {
    const line = textAt(lines, k);
    const at = line.indexOf(' panicked at ');
    if (at === -1) continue;
    const rest = line.slice(at + ' panicked at '.length);
    if (rest.startsWith("'")) {
      const close = rest.lastIndexOf("', ");
      return close > 0 ? rest.slice(1, close) : rest.slice(1);
    }
    return lines[k + 1]?.trim() ?? rest;
  }
  return undefined;
}

const junit: Matcher = (line, i, ctx) => {
  if (ctx.mavenResults) {
    const summary = /^\[ERROR\] {2,}(\S.*)$/.exec(line);
    if (summary) return { message: textAt(summary, 1), tool: 'junit', kind: 'summary', end: i + 1 };
  }
  const marker = line.includes('<<< FAILURE!') || line.includes('<<< ERROR!');
  if (marker && !/^\[ERROR\] Tests run:/.test(line) && !line.startsWith('Tests run:')) {
    const text = line.replace(/^\[ERROR\] /, '');
    const next = textAt(ctx.lines, i + 1);
    const cut = [' -- Time elapsed', '  Time elapsed', ' Time elapsed']
      .map((s) => text.indexOf(s))
      .find((k) => k > 0);
    const name = (cut === undefined ? text : text.slice(0, cut)).trim();
    const end = scanWhile(ctx.lines, i + 2, 40, (l) =>
      /^\s+at |^\s*\.\.\. \d+ more|^Caused by: /.test(l),
    );
    return {
      message: withDetail(name, /^\[[A-Z]+\]/.test(next) ? undefined : next.trim()),
      tool: 'junit',
      kind: 'detail',
      end,
    };
  }
  const gradle = /^([\w.$]+) > (.+) FAILED$/.exec(line);
  if (gradle) {
    const end = scanWhile(ctx.lines, i + 1, 40, (l) => !isBlank(l) && indentOf(l) > 0);
    const title = `${gradle[1]} > ${gradle[2]}`;
    return {
      message: withDetail(title, firstContent(ctx.lines, i + 1, end)),
      tool: 'junit',
      kind: 'detail',
      end,
    };
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------
// Compilers and type checkers

const maven: Matcher = (line, i, ctx) => {
  const javac = /^\[ERROR\] (\S+\.(?:java|kt|scala|groovy)):\[(\d+),(\d+)\] (.+)$/.exec(line);
  if (javac) {
    const end = scanWhile(ctx.lines, i + 1, 6, (l) =>
      /^(?:\[ERROR\])?\s+(?:symbol|location|required|found|reason):/.test(l),
    );
    const symbol = ctx.lines.slice(i + 1, end).find((l) => /^(?:\[ERROR\])?\s+symbol:/.test(l));
    const message = symbol
      ? `${javac[4]} (${symbol
          .replace(/^\[ERROR\]/, '')
          .trim()
          .replace(/\s+/g, ' ')})`
      : textAt(javac, 4);
    return {
      message: `${javac[1]}:[${javac[2]},${javac[3]}] ${message}`,
      tool: 'javac',
      kind: 'detail',
      end,
    };
  }
  const goal = /^\[ERROR\] (Failed to execute goal .+)$/.exec(line);
  if (goal) {
    const text = textAt(goal, 1);
    const generic =
      /There are test failures|Compilation failure|There was a timeout|exit code|ExecutionException/.test(
        text,
      );
    return { message: text, tool: 'maven', kind: generic ? 'generic' : 'detail', end: i + 1 };
  }
  return undefined;
};

const gradleFailure: Matcher = (line, i, ctx) => {
  if (line !== '* What went wrong:') return undefined;
  const end = scanWhile(ctx.lines, i + 1, 15, (l) => !isBlank(l) && !l.startsWith('* '));
  const text = ctx.lines
    .slice(i + 1, end)
    .map((l) => l.replace(/^\s*>\s*/, '').trim())
    .join(' ');
  // "Execution failed for task" restates an error printed above, unless Gradle itself failed to resolve something.
  const generic =
    text.startsWith('Execution failed for task') &&
    !/Could not (?:resolve|find|download)/.test(text);
  return { message: text || line, tool: 'gradle', kind: generic ? 'generic' : 'detail', end };
};

const typescript: Matcher = (line, i, ctx) => {
  const paren = /^\s*(\S[^(]*)\((\d+),(\d+)\): error ([A-Z]+\d+): (.*)$/.exec(line);
  if (paren) {
    const tool = paren[4]?.startsWith('TS') ? 'tsc' : 'dotnet';
    return { message: line.trim(), tool, kind: 'detail', end: i + 1 };
  }
  const pretty = /^\s*[^\s:(]+:\d+:\d+ - error TS\d+: /.test(line);
  if (pretty) {
    const end = scanWhile(
      ctx.lines,
      i + 1,
      8,
      (l) => !/ - error TS\d+: /.test(l) && !/^Found \d+ errors?/.test(l),
    );
    return {
      message: line.trim(),
      tool: 'tsc',
      kind: 'detail',
      end: trimBlankEnd(ctx.lines, i, end),
    };
  }
  if (/^\s*error TS\d+: /.test(line))
    return { message: line.trim(), tool: 'tsc', kind: 'detail', end: i + 1 };
  return undefined;
};

const rust: Matcher = (line, i, ctx) => {
  const m = /^error(\[E\d{4}\])?: (.+)$/.exec(line);
  if (!m) return undefined;
  const text = textAt(m, 2);
  const end = scanWhile(
    ctx.lines,
    i + 1,
    60,
    (l) => !isBlank(l) && !/^(?:error|warning)(?:\[\w+\])?: /.test(l) && l !== 'Caused by:',
  );
  const body = ctx.lines.slice(i + 1, end);
  let tool: string | undefined;
  if (body.some((l) => l.includes('clippy::'))) tool = 'clippy';
  else if (m[1] !== undefined || body.some((l) => /^\s*--> /.test(l))) tool = 'rustc';
  else if (CARGO_MESSAGE.test(text)) tool = 'cargo';
  const generic =
    /^(?:could not compile|aborting due to|test failed, to rerun|build failed|process didn't exit successfully)/.test(
      text,
    );
  return { message: line.trim(), tool, kind: generic ? 'generic' : 'detail', end };
};

// Cargo's "Caused by:" for a compiler, build script or test binary killed by the kernel
// (SIGKILL is how the out-of-memory killer ends a process). The command is often thousands
// of characters long, so it is cut to its program's name to keep the signal in the message.
const processKilled: Matcher = (line, i) => {
  const m = /^\s*process didn't exit successfully: (.*)$/.exec(line);
  if (!m) return undefined;
  const text = textAt(m, 1);
  const signal = text.lastIndexOf('(signal: 9');
  if (signal === -1) return undefined;
  const command = text.slice(0, signal).trim();
  const program = command.replace(/^`|`$/g, '').split(' ', 1)[0] ?? '';
  const name = program.slice(program.lastIndexOf('/') + 1);
  const shown = command.includes(' ') ? `\`${name} …\`` : `\`${name}\``;
  return {
    message: `process didn't exit successfully: ${shown} ${text.slice(signal)}`,
    tool: 'cargo',
    kind: 'detail',
    end: i + 1,
  };
};

const CARGO_MESSAGE =
  /^(?:failed to select a version|no matching package|failed to (?:download|load|parse|get|fetch|resolve|update)|could not compile|test failed|failed to run custom build command|the lock file .* needs to be updated|package `[^`]*` cannot be built)/;

// "path:line[:col]: message", the shape shared by gcc/clang, javac, go build/vet, flake8,
// ruff, mypy and golangci-lint; the file's extension and the message say which it is.
const locatedError: Matcher = (line, i, ctx) => {
  const m = /^((?:[A-Za-z]:[\\/])?[^\s:(]+):(\d+)(?::(\d+))?:? (.+)$/.exec(line);
  if (!m) return undefined;
  const file = textAt(m, 1);
  const text = textAt(m, 4);
  if (/^(?:warning|note|info):/.test(text)) return undefined;
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const tool = locatedTool(ext, file, text, ctx);
  if (tool === undefined) return undefined;
  const end = scanWhile(
    ctx.lines,
    i + 1,
    8,
    (l) => /^\s+\S/.test(l) && !/^\s+\S+:\d+:\d+: /.test(l),
  );
  return { message: line.trim(), tool: tool || undefined, kind: 'detail', end };
};

const GOLANGCI_LINTERS =
  /\((?:errcheck|gosimple|govet|ineffassign|staticcheck|unused|revive|gofmt|goimports|gocritic|misspell|typecheck|gosec|unparam|bodyclose|errorlint|stylecheck|dupl|goconst|gocyclo|lll|nakedret|prealloc|whitespace)\)$/;

const STATICCHECK_CHECKS = /\((?:SA|S|ST|QF|U)\d{4}\)$/;

// What the Go compiler (and go vet's type check) says about code that does not compile.
const GO_COMPILE_ERROR =
  /^(?:undefined: |cannot |invalid |syntax error|missing return|too many |not enough |assignment mismatch|no new variables|non-name |could not import |declared and not used|mismatched types)|imported and not used| redeclared in this block|\bundefined \(type /;

/** The tool for a "path:line: message" line, '' for an error of no known tool, undefined for no error. */
function locatedTool(ext: string, file: string, text: string, ctx: Context): string | undefined {
  const isError = /^(?:fatal )?error:/.test(text);
  if (ext === 'go') {
    if (GOLANGCI_LINTERS.test(text)) return 'golangci-lint';
    if (STATICCHECK_CHECKS.test(text)) return 'staticcheck';
    // go vet heads its reports "# [pkg]"; in a step that runs go vet, anything that is not a
    // compile error is a vet report too.
    if (ctx.goHeader === 'vet') return 'go vet';
    if (ctx.goVetStep && !GO_COMPILE_ERROR.test(text)) return 'go vet';
    return 'go';
  }
  if (['c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'm', 'mm'].includes(ext))
    return isError ? 'gcc/clang' : undefined;
  if (ext === 'java') return isError ? 'javac' : undefined;
  if (ext === 'py') {
    if (/^[A-Z]{1,3}\d{2,4}\b/.test(text)) return file.startsWith('./') ? 'flake8' : 'ruff';
    return isError ? 'mypy' : undefined;
  }
  if (/\[Error\/[^\]]+\]$/.test(text)) return 'eslint';
  if (isError && toRepositoryPath(file) !== undefined) return '';
  return undefined;
}

const kotlin: Matcher = (line, i) =>
  line.startsWith('e: ')
    ? { message: line.slice(3).trim(), tool: 'kotlinc', kind: 'detail', end: i + 1 }
    : undefined;

const linker: Matcher = (line, i, ctx) => {
  if (
    line.includes('undefined reference to') ||
    line.startsWith('Undefined symbols for architecture')
  ) {
    return { message: line.trim(), tool: 'ld', kind: 'detail', end: i + 1 };
  }
  if (
    /ld returned \d+ exit status|linker command failed with exit code|^ninja: build stopped/.test(
      line,
    )
  ) {
    return { message: line.trim(), tool: 'ld', kind: 'generic', end: i + 1 };
  }
  if (/^g?make(?:\[\d+\])?: \*\*\* /.test(line)) {
    return { message: line.trim(), tool: 'make', kind: 'generic', end: i + 1 };
  }
  if (/^CMake Error\b/.test(line)) {
    const end = scanWhile(ctx.lines, i + 1, 20, (l) => isBlank(l) || indentOf(l) > 0);
    const detail = firstContent(ctx.lines, i + 1, end);
    return {
      message: withDetail(line.trim().replace(/:$/, ''), detail),
      tool: 'cmake',
      kind: 'detail',
      end: trimBlankEnd(ctx.lines, i, end),
    };
  }
  return undefined;
};

// Front-end bundlers. Vite prints "error during build:" and the error on the next lines.
const bundlers: Matcher = (line, i, ctx) => {
  const vite = /^error during build:\s*(.*)$/.exec(line);
  if (vite) {
    const end = scanWhile(
      ctx.lines,
      i + 1,
      40,
      (l) =>
        !isBlank(l) &&
        !l.startsWith('##[') &&
        !/^\s*ELIFECYCLE\b|^npm (?:ERR!|error) |^error\b/.test(l),
    );
    const inline = textAt(vite, 1).trim();
    const first = inline === '' ? i + 1 : i;
    let message = inline || textAt(ctx.lines, first).trim();
    // "[vite:esbuild] Transform failed with 1 error:" is followed by the error itself.
    if (message.endsWith(':') && first + 1 < end) {
      message = withDetail(message.slice(0, -1), textAt(ctx.lines, first + 1).trim());
    }
    return { message: message || line.trim(), tool: 'vite', kind: 'detail', end };
  }
  const rollup = /^\[!\] (\S.*)$/.exec(line);
  if (rollup) {
    const end = scanWhile(ctx.lines, i + 1, 20, (l) => !isBlank(l) && !l.startsWith('##['));
    return { message: textAt(rollup, 1), tool: 'rollup', kind: 'detail', end };
  }
  const esbuild = /^\s*✘ \[ERROR\] (\S.*)$/.exec(line);
  if (esbuild) {
    const end = scanWhile(ctx.lines, i + 1, 20, (l) => isBlank(l) || indentOf(l) > 0);
    return {
      message: textAt(esbuild, 1).trim(),
      tool: 'esbuild',
      kind: 'detail',
      end: trimBlankEnd(ctx.lines, i, end),
    };
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------
// Linters and formatters

const eslint: Matcher = (line, i, ctx) => {
  const m = /^\s+(\d+):(\d+)\s+error\s+(.+)$/.exec(line);
  if (m) {
    const rest = textAt(m, 3).trim();
    const gap = rest.lastIndexOf('  ');
    const message = gap > 0 ? `${rest.slice(0, gap).trim()} (${rest.slice(gap).trim()})` : rest;
    const references: ErrorReference[] = ctx.eslintFile
      ? [{ file: ctx.eslintFile, line: Number(m[1]), column: Number(m[2]) }]
      : [];
    return { message, tool: 'eslint', kind: 'detail', end: i + 1, references };
  }
  if (/^✖ \d+ problems? \(\d+ errors?, \d+ warnings?\)/.test(line)) {
    return { message: line.slice(2).trim(), tool: 'eslint', kind: 'generic', end: i + 1 };
  }
  return undefined;
};

const prettier: Matcher = (line, i, ctx) => {
  if (line.includes('Code style issues')) {
    let start = i;
    while (start > 0 && /^\[warn\] \S+$/.test(textAt(ctx.lines, start - 1))) start--;
    const files = ctx.lines.slice(start, i).map((l) => l.slice('[warn] '.length));
    const text = line.replace(/^\[warn\]\s*/, '').trim();
    const shown = files.slice(0, 3).join(', ') + (files.length > 3 ? ', …' : '');
    const references = files.flatMap((f) => {
      const file = toRepositoryPath(f);
      return file === undefined ? [] : [{ file }];
    });
    return {
      message: files.length > 0 ? `${text} (${shown})` : text,
      tool: 'prettier',
      kind: 'detail',
      start,
      end: i + 1,
      references,
    };
  }
  const error = /^\[error\] (\S+): (\w*Error: .+)$/.exec(line);
  if (error)
    return { message: `${error[1]}: ${error[2]}`, tool: 'prettier', kind: 'detail', end: i + 1 };
  return undefined;
};

const pythonFormat: Matcher = (line, i, ctx) => {
  const black = /^would reformat (\S.*)$/.exec(line);
  const ruffFormat = /^Would reformat: (\S.*)$/.exec(line);
  const file = black?.[1] ?? ruffFormat?.[1];
  if (file !== undefined) {
    const path = toRepositoryPath(file.trim());
    return {
      message: `would reformat ${path ?? file.trim()}`,
      tool: black ? 'black' : 'ruff',
      kind: 'detail',
      end: i + 1,
      references: path === undefined ? [] : [{ file: path }],
    };
  }
  // Ruff 0.12+ prints the rule first and the location on the next line.
  const rule = /^([A-Z]{1,3}\d{3,4}) (?:\[\*\] )?(.+)$/.exec(line);
  if (rule && /^\s*--> \S/.test(textAt(ctx.lines, i + 1))) {
    const end = scanWhile(ctx.lines, i + 1, 20, (l) => !isBlank(l));
    return { message: line.trim(), tool: 'ruff', kind: 'detail', end };
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------
// Package managers

const npm: Matcher = (line, i, ctx) => {
  if (!/^npm (?:ERR!|error) /.test(line)) return undefined;
  const end = scanWhile(ctx.lines, i, 60, (l) => /^npm (?:ERR!|error)(?: |$)/.test(l));
  let code: string | undefined;
  let first: string | undefined;
  for (const l of ctx.lines.slice(i, end)) {
    const text = l.replace(/^npm (?:ERR!|error)\s?/, '').trim();
    const codeLine = /^code (\S+)$/.exec(text);
    if (codeLine) code ??= codeLine[1];
    else if (first === undefined && text !== '' && !NPM_NOISE.test(text)) first = text;
  }
  // A numeric code or ELIFECYCLE means a script failed, which its own output explains.
  const scriptFailed = (c: string) => /^(?:\d+|ELIFECYCLE)$/.test(c);
  if (first === undefined) {
    if (code === undefined) return undefined;
    const kind = scriptFailed(code) ? 'generic' : 'detail';
    return { message: `code ${code}`, tool: 'npm', kind, end };
  }
  if (code === undefined) {
    const generic = /^(?:Lifecycle script .* failed|command failed|Test failed)/i.test(first);
    return { message: first, tool: 'npm', kind: generic ? 'generic' : 'detail', end };
  }
  const generic = scriptFailed(code) && !first.includes('Missing script');
  const message = first.includes(code) ? first : `${code}: ${first}`;
  return { message, tool: 'npm', kind: generic ? 'generic' : 'detail', end };
};

const NPM_NOISE =
  /^(?:errno|syscall|path|dest|workspace|location|command|signal|A complete log of this run|Log files were not written|This is probably not a problem with npm|Failed at the|Exit status)\b/;

const pnpm: Matcher = (line, i, ctx) => {
  const m = /\b(ERR_PNPM_[A-Z0-9_]+)\s*(.*)$/.exec(line);
  if (m) {
    const end = scanWhile(ctx.lines, i + 1, 8, (l) => !isBlank(l));
    const generic = textAt(m, 1).endsWith('FIRST_FAIL');
    return {
      message: withDetail(textAt(m, 1), textAt(m, 2).trim() || undefined),
      tool: 'pnpm',
      kind: generic ? 'generic' : 'detail',
      end,
    };
  }
  if (/^\s*ELIFECYCLE\s+(?:Command|Test) failed/.test(line)) {
    return { message: line.trim(), tool: 'pnpm', kind: 'generic', end: i + 1 };
  }
  return undefined;
};

const yarn: Matcher = (line, i) => {
  const classic = /^error (\S.*)$/.exec(line);
  if (classic) {
    const text = textAt(classic, 1);
    const generic = /^Command failed with exit code/.test(text);
    return { message: text, tool: 'yarn', kind: generic ? 'generic' : 'detail', end: i + 1 };
  }
  const berry = /^➤ (YN0(?:001|018|028|035|082)): (?:[│└┌]\s*)?(.+)$/.exec(line);
  if (berry)
    return { message: `${berry[1]}: ${berry[2]}`, tool: 'yarn', kind: 'detail', end: i + 1 };
  return undefined;
};

const pipOrDocker: Matcher = (line, i) => {
  const m = /^ERROR: (.+)$/.exec(line);
  if (!m) return undefined;
  const text = textAt(m, 1);
  if (text.startsWith('failed to solve:')) {
    const generic = /did not complete successfully: exit code/.test(text);
    return { message: text, tool: 'docker', kind: generic ? 'generic' : 'detail', end: i + 1 };
  }
  const pip =
    /requirement|distribution|ResolutionImpossible|conflicting dependencies|Could not install|pip|wheel|metadata/i.test(
      text,
    );
  return { message: text, tool: pip ? 'pip' : undefined, kind: 'detail', end: i + 1 };
};

const apt: Matcher = (line, i) => {
  const m = /^E: ([A-Z].*)$/.exec(line);
  if (!m) return undefined;
  const text = textAt(m, 1);
  // These restate the "Failed to fetch" errors printed just before them.
  const restates = /^(?:Unable to fetch some archives|Some index files failed to download)/.test(
    text,
  );
  return { message: text, tool: 'apt', kind: restates ? 'summary' : 'detail', end: i + 1 };
};

// Bundler, Poetry, uv and Dart's pub explain an unsolvable set of requirements the way the
// PubGrub algorithm does: "Because a depends on b … version solving failed."
const SOLVER_CONCLUSION = /version solving (?:has )?failed|requirements are unsatisfiable/;
const SOLVER_SENTENCE = /^(?:Because |And because |So, because |Thus, |\(\d+\) )/;

const versionSolver: Matcher = (line, i, ctx) => {
  const bundler =
    /^(?:Could not find compatible versions|Bundler could not find compatible versions for gem )/.test(
      line,
    );
  const because = /^\s*(?:╰─▶\s*)?Because \S/.test(line);
  if (!bundler && !because) return undefined;
  let last = -1;
  const limit = Math.min(ctx.lines.length, i + 40);
  for (let k = because ? i : i + 1; k < limit; k++) {
    const l = textAt(ctx.lines, k);
    if (SOLVER_CONCLUSION.test(l)) {
      last = k;
      break;
    }
    // An explanation is made of "Because …", "And because …", "So, because …" sentences,
    // their indented continuations and blank lines; anything else ends it.
    if (k > i && !isBlank(l) && indentOf(l) === 0 && !SOLVER_SENTENCE.test(l)) break;
  }
  if (bundler) {
    // Bundler before 2.5 lists the conflicting requirements, indented, without a conclusion.
    const end =
      last === -1
        ? trimBlankEnd(
            ctx.lines,
            i,
            scanWhile(ctx.lines, i + 1, 40, (l) => isBlank(l) || indentOf(l) > 0),
          )
        : last + 1;
    const reason = ctx.lines
      .slice(i + 1, end)
      .find((l) => l.trimStart().startsWith('Because '))
      ?.trim();
    return {
      message: withDetail(line.trim().replace(/:$/, ''), reason),
      tool: 'bundler',
      kind: 'detail',
      end,
    };
  }
  if (last === -1) return undefined;
  const text = line.trim().replace(/^╰─▶\s*/, '');
  return {
    message: text,
    tool: solverTool(line, textAt(ctx.lines, last)),
    kind: 'detail',
    end: last + 1,
  };
};

function solverTool(first: string, conclusion: string): string {
  if (first.includes('╰─▶') || conclusion.includes('unsatisfiable')) return 'uv';
  if (conclusion.includes('has failed')) return 'bundler';
  // Poetry writes versions in parentheses: "pandas (2.2.3) depends on numpy (>=1.26.0)".
  if (/ \([<>=!~^]*\d/.test(first) || / \([<>=!~^]*\d/.test(conclusion)) return 'poetry';
  return 'pubgrub';
}

// Files a dependency tool rewrites: a step that runs it and then `git diff --exit-code` fails
// when they were not committed up to date ("go mod tidy" left go.mod or go.sum changed).
const gitDiff: Matcher = (line, i, ctx) => {
  const first = diffFile(line);
  if (first === undefined) return undefined;
  const files = [first];
  const end = scanWhile(ctx.lines, i + 1, 400, (l) => {
    if (!DIFF_LINE.test(l)) return false;
    const file = diffFile(l);
    if (file !== undefined && !files.includes(file) && files.length < 10) files.push(file);
    return true;
  });
  const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? ', …' : '');
  const references = files.flatMap((f) => {
    const file = toRepositoryPath(f);
    return file === undefined ? [] : [{ file }];
  });
  return {
    message: `files differ from the commit: ${shown}`,
    tool: line.startsWith('diff --git ') ? 'git' : 'go mod',
    kind: 'detail',
    end: trimBlankEnd(ctx.lines, i, end),
    references,
  };
};

const DIFF_LINE =
  /^(?:diff |index |--- |\+\+\+ |@@ |[ +-]|\\ No newline|(?:new|deleted) file mode |(?:old|new) mode |similarity index |rename (?:from|to) |Binary files |$)/;

/** The file a "diff --git a/x b/x" (or `go mod tidy -diff`: "diff current/x tidy/x") header names. */
function diffFile(line: string): string | undefined {
  const m = /^diff (?:--git a\/(\S+) b\/\S+|current\/(\S+) tidy\/\S+)$/.exec(line);
  return m ? (m[1] ?? m[2]) : undefined;
}

const goModules: Matcher = (line, i) => {
  if (
    !line.startsWith('go: ') ||
    /^go: (?:downloading|finding|extracting|added|upgraded|found|creating|to add|removed|module .* found)\b/.test(
      line,
    )
  ) {
    return undefined;
  }
  return { message: line.trim(), tool: 'go', kind: 'detail', end: i + 1 };
};

// ---------------------------------------------------------------------------------------
// Runtime errors, runner and git messages

const pythonTraceback: Matcher = (line, i, ctx) => {
  if (line !== 'Traceback (most recent call last):') return undefined;
  const last = scanWhile(ctx.lines, i + 1, 120, (l) => isBlank(l) || /^\s/.test(l));
  const exception = ctx.lines[last];
  const end = exception === undefined ? last : last + 1;
  return { message: exception?.trim() ?? line, tool: 'python', kind: 'detail', end };
};

const thrownError: Matcher = (line, i, ctx) => {
  if (!/^(?:Uncaught )?(?:[A-Z][A-Za-z]*)?(?:Error|Exception)(?: \[[\w.]+\])?: \S/.test(line))
    return undefined;
  const end = scanWhile(ctx.lines, i + 1, 30, (l) =>
    /^\s+at |^\s+\.\.\. \d+ more|^\s*\{$|^\s+\w+: /.test(l),
  );
  const generic =
    /^Error: (?:Process completed with exit code|The process '[^']*' failed with exit code|Command failed)/.test(
      line,
    );
  return { message: line.trim(), kind: generic ? 'generic' : 'detail', end };
};

// Messages with no tool prefix that say exactly what happened to the runner, the network or the workflow.
const KNOWN_MESSAGES: readonly { pattern: RegExp; tool?: string }[] = [
  {
    pattern: /FATAL ERROR: .*(?:heap|Allocation failed)|JavaScript heap out of memory/,
    tool: 'node',
  },
  { pattern: /no space left on device|ENOSPC/i },
  { pattern: /^Killed\s*$|\d Killed\s+\S/ },
  // gcc and collect2 when the kernel kills the compiler or the linker (out of memory).
  { pattern: /Killed signal terminated program|terminated with signal 9 \[Killed\]/ },
  {
    pattern:
      /lost communication with the server|has received a shutdown signal|The operation was canceled|exceeded the maximum execution time/,
    tool: 'github-actions',
  },
  {
    pattern:
      /Resource not accessible by integration|Invalid workflow file|The workflow is not valid|Unable to resolve action|Input required and not supplied/,
    tool: 'github-actions',
  },
  { pattern: /worker process .* (?:was terminated|has failed to exit gracefully)/, tool: 'jest' },
];

// Only unindented lines: indented ones are stack frames, object dumps and console output.
const knownMessage: Matcher = (line, i) => {
  if (/^\s/.test(line)) return undefined;
  for (const known of KNOWN_MESSAGES) {
    if (known.pattern.test(line)) {
      const match: Match = { message: line.trim(), kind: 'detail', end: i + 1 };
      if (known.tool !== undefined) match.tool = known.tool;
      return match;
    }
  }
  return undefined;
};

const gitOrDocker: Matcher = (line, i) => {
  if (
    /^fatal: \S/.test(line) ||
    /^remote: Permission to \S+ denied to /.test(line) ||
    /^error: (?:failed to push|RPC failed)/.test(line)
  ) {
    return { message: line.trim(), tool: 'git', kind: 'detail', end: i + 1 };
  }
  if (line.startsWith('Error response from daemon: ')) {
    return { message: line.trim(), tool: 'docker', kind: 'detail', end: i + 1 };
  }
  return undefined;
};

// A Go panic and its goroutine dump. Inside go test (a test was named, or the stack runs
// through testing.tRunner) it is the failing test's error, named after the test.
const goPanic: Matcher = (line, i, ctx) => {
  const m = /^panic: (\S.*)$/.exec(line);
  if (!m) return undefined;
  const end = trimBlankEnd(
    ctx.lines,
    i,
    scanWhile(
      ctx.lines,
      i + 1,
      200,
      (l) =>
        isBlank(l) ||
        /^\s/.test(l) ||
        l.startsWith('[signal ') ||
        l.startsWith('created by ') ||
        /^goroutine \d+ \[/.test(l) ||
        /^[^\s()]+\(.*\)$/.test(l),
    ),
  );
  const inTest =
    ctx.goTest !== undefined ||
    ctx.lines.slice(i + 1, end).some((l) => l.startsWith('testing.tRunner'));
  const text = `panic: ${textAt(m, 1).replace(/ \[recovered\]$/, '')}`;
  return {
    message: ctx.goTest === undefined ? text : `${ctx.goTest}: ${text}`,
    tool: inTest ? 'go test' : 'go',
    kind: 'detail',
    end,
  };
};

// An "##[error]" line no tool format claimed: an action's own failure message.
function actionsError(text: string, i: number): Match {
  const generic =
    /^(?:Error: )?(?:Process completed with exit code \d+|The process '[^']*' failed with exit code \d+)/.test(
      text,
    );
  return {
    message: text.trim() || 'Unknown error',
    tool: 'github-actions',
    kind: generic ? 'generic' : 'detail',
    end: i + 1,
  };
}

// Most specific first: test runners before compilers before the catch-all shapes.
const MATCHERS: readonly Matcher[] = [
  jest,
  vitest,
  phpunit,
  playwright,
  mocha,
  tap,
  eslint,
  nodeTestSpec,
  pytestSection,
  pytestSummary,
  goTest,
  goPanic,
  cargoTest,
  junit,
  maven,
  gradleFailure,
  gitOrDocker,
  typescript,
  rust,
  processKilled,
  locatedError,
  kotlin,
  linker,
  bundlers,
  prettier,
  pythonFormat,
  npm,
  pnpm,
  yarn,
  pipOrDocker,
  apt,
  versionSolver,
  gitDiff,
  goModules,
  pythonTraceback,
  knownMessage,
  thrownError,
];

// ---------------------------------------------------------------------------------------
// Helpers for reading blocks

/** Index of the first line from `from` (at most `max` lines on) for which keep() is false. */
function scanWhile(
  lines: readonly string[],
  from: number,
  max: number,
  keep: (line: string) => boolean,
): number {
  let j = from;
  const limit = Math.min(lines.length, from + max);
  while (j < limit && keep(textAt(lines, j))) j++;
  return j;
}

function trimBlankEnd(lines: readonly string[], start: number, end: number): number {
  let e = end;
  while (e > start + 1 && isBlank(textAt(lines, e - 1))) e--;
  return e;
}

function firstContent(lines: readonly string[], from: number, to: number): string | undefined {
  for (let k = from; k < to; k++) {
    const text = textAt(lines, k).trim();
    if (text !== '') return text;
  }
  return undefined;
}

function withDetail(head: string, detail: string | undefined): string {
  return detail ? `${head}: ${detail}` : head;
}

function cleanMessage(message: string): string {
  const text = message.replace(/\s+/g, ' ').trim();
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}

/** list[index], or '' past the end or for a regex group that took no part in the match. */
function textAt(list: readonly (string | undefined)[], index: number): string {
  return list[index] ?? '';
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function indentOf(line: string): number {
  let n = 0;
  while (n < line.length && (line[n] === ' ' || line[n] === '\t')) n++;
  return n;
}

function uniqueReferences(references: readonly ErrorReference[]): ErrorReference[] {
  const seen = new Set<string>();
  return references.filter((r) => {
    const key = `${r.file}:${r.line ?? ''}:${r.column ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
