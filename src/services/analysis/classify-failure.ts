// Decides what kind of failure a failed step is (test, build, lint, dependency,
// configuration, infrastructure or unknown), how sure that is, and why.
//
// The order of the checks is the policy. What the runner says about itself (killed, out of
// memory, disk full, timed out, cancelled) wins over everything, because a test that was
// killed did not fail on its merits. Workflow configuration comes next. A network error
// during an install is infrastructure, not a dependency problem, so network signals are
// checked before dependency resolution. Only then does the tool that printed the first
// specific error decide between test, build and lint, and the step's name is the last resort.

import type { Classification, ErrorBlock, FailureType } from './types.ts';

export interface ClassifyInput {
  blocks: readonly ErrorBlock[];
  /** Every line of the failed step: runner and network messages often sit outside any error block. */
  lines?: readonly string[];
  stepName?: string | null;
  jobName?: string;
}

interface Rule {
  label: string;
  pattern: RegExp;
}

const RUNNER_RULES: readonly Rule[] = [
  {
    label: 'the runner lost communication with GitHub',
    pattern: /lost communication with the server/,
  },
  { label: 'the runner was shut down', pattern: /has received a shutdown signal/ },
  {
    label: 'the job hit its time limit',
    pattern: /exceeded the maximum execution time|has timed out after \d+ minutes/,
  },
  { label: 'the run was cancelled', pattern: /The operation was canceled/ },
  {
    label: 'out of memory (JavaScript heap)',
    pattern: /JavaScript heap out of memory|Reached heap limit|FATAL ERROR: .*Allocation failed/,
  },
  {
    label: 'out of memory',
    pattern: /Cannot allocate memory|OOMKilled|Out of memory: Killed process/,
  },
  {
    label: 'a process was killed (exit code 137, usually out of memory)',
    pattern: /exit code 137\b|exit status 137\b|signal: killed\b|^Killed\s*$|\d Killed\s+\S/,
  },
  {
    // Cargo: "(signal: 9, SIGKILL: kill)"; rustc/ld: "signal: 9 (SIGKILL)"; gcc: "Killed signal
    // terminated program cc1plus"; collect2: "ld terminated with signal 9 [Killed]".
    label: 'a process was killed with SIGKILL (usually out of memory)',
    pattern:
      /signal: 9(?:, | \()SIGKILL|Killed signal terminated program|terminated with signal 9 \[Killed\]/,
  },
  { label: 'the disk is full', pattern: /No space left on device|\bENOSPC\b/i },
];

const CONFIGURATION_RULES: readonly Rule[] = [
  {
    label: 'the workflow file is invalid',
    pattern:
      /Invalid workflow file|The workflow is not valid|Unrecognized named-value|\.github\/workflows\/\S+ \(Line: \d+/,
  },
  {
    label: 'an action could not be resolved',
    pattern:
      /Unable to resolve action|Can't find 'action\.ya?ml'|Unable to find the action|repository not found.*action|Could not find file '.*action\.ya?ml'/i,
  },
  { label: 'GITHUB_TOKEN lacks a permission', pattern: /Resource not accessible by integration/ },
  {
    label: 'the workflow token may not push',
    pattern: /Permission to \S+ denied to \S+|The requested URL returned error: 403/,
  },
  {
    label: 'a required input or secret is missing',
    pattern:
      /Input required and not supplied|Secret \S+ is required, but not provided|secret .* (?:is not set|was not provided)/i,
  },
  {
    label: 'credentials are missing',
    pattern:
      /Credentials could not be loaded|Username and password required|could not read Username for|ENEEDAUTH|need auth|Unable to authenticate, need:/,
  },
  {
    label: 'a toolchain version is not available',
    pattern:
      /The version '[^']+' with architecture '[^']+' was not found|Unable to find Node version|Could not find a version that satisfied version spec|Unable to find Java distribution/,
  },
  { label: 'the workflow runs an npm script that does not exist', pattern: /Missing script: / },
  {
    label: 'the setup action found no lock file to cache',
    pattern: /Dependencies lock file is not found/,
  },
];

const NETWORK_RULES: readonly Rule[] = [
  {
    label: 'a network connection failed',
    pattern:
      /\b(?:ETIMEDOUT|ECONNRESET|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|ECONNABORTED|ESOCKETTIMEDOUT)\b|socket hang up|Connection reset by peer|Connection timed out|TLS handshake timeout|i\/o timeout|network is unreachable/,
  },
  {
    label: 'a host name could not be resolved',
    pattern:
      /getaddrinfo ENOTFOUND|Could not resolve host|Temporary failure in name resolution|Temporary failure resolving '|Name or service not known|no such host/,
  },
  {
    label: 'a registry or server returned a 5xx error',
    pattern:
      /\b50[234] +(?:Bad Gateway|Service Unavailable|Gateway Time-?out)|returned error: 50[234]|status code:? 50[234]\b|HTTP (?:code |status )?50[234]\b|Max retries exceeded|NewConnectionError|ReadTimeoutError|RemoteDisconnected/i,
  },
  {
    label: 'a service rate-limited the job',
    pattern: /toomanyrequests|rate limit exceeded|429 Too Many Requests/i,
  },
  {
    // apt names the mirror's answer (503, 404 for a mirror out of sync, a refused connection).
    label: 'apt could not download packages',
    pattern:
      /^E: (?:Failed to fetch |Unable to fetch some archives|Some index files failed to download)/,
  },
  {
    label: 'a download was cut off',
    pattern:
      /the remote end hung up unexpectedly|early EOF|unexpected disconnect while reading|There appears to be trouble with your network connection/,
  },
];

const DEPENDENCY_RULES: readonly Rule[] = [
  {
    label: 'no versions of the dependencies satisfy every requirement',
    pattern:
      /version solving (?:has )?failed|SolverProblemError|Could not find compatible versions|requirements are unsatisfiable|No solution found when resolving dependencies/,
  },
  {
    // `go mod tidy && git diff --exit-code` and the like: the committed files were not up to date.
    label: 'the step changed dependency files that should have been committed',
    pattern:
      /^diff (?:--git a|current)\/(?:\S*\/)?(?:go\.mod|go\.sum|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|pubspec\.lock|gradle\.lockfile|packages\.lock\.json|mix\.lock) /,
  },
  {
    label: 'a system package is not available',
    pattern:
      /^E: (?:Unable to locate package |Package '[^']+' has no installation candidate|Version '[^']+' for '[^']+' was not found)/,
  },
  {
    label: 'npm could not resolve the dependency tree',
    pattern: /\bERESOLVE\b|unable to resolve dependency tree|Conflicting peer dependency/,
  },
  {
    label: 'a package version does not exist',
    pattern:
      /\bETARGET\b|No matching version found for|ERR_PNPM_NO_MATCHING_VERSION|Couldn't find any versions for|No candidates found|YN0082/,
  },
  {
    label: 'a package does not exist',
    pattern:
      /\bE404\b|404 Not Found - GET https?:\/\/|is not in (?:this|the npm) registry|Couldn't find package|Package not found|YN0035|ERR_PNPM_FETCH_404/,
  },
  {
    label: 'the lock file is out of sync',
    pattern:
      /can only install packages when your package\.json and package-lock\.json|Missing: \S+ from lock file|ERR_PNPM_OUTDATED_LOCKFILE|ERR_PNPM_LOCKFILE|frozen-lockfile|lockfile needs to be updated|lockfile would have been modified|YN0028|needs to be updated but --locked was passed|cannot update the lock file/i,
  },
  {
    label: 'peer dependencies conflict',
    pattern: /ERR_PNPM_PEER_DEP_ISSUES|ERR_PNPM_UNSUPPORTED_ENGINE/,
  },
  {
    label: 'a package failed its integrity check',
    pattern: /\bEINTEGRITY\b|integrity checksum failed|YN0018|checksum mismatch/i,
  },
  {
    label: 'pip could not resolve the requirements',
    pattern:
      /No matching distribution found|Could not find a version that satisfies the requirement|ResolutionImpossible|have conflicting dependencies/,
  },
  {
    label: 'cargo could not resolve the dependencies',
    pattern:
      /failed to select a version for|no matching package named|failed to load source for dependency/,
  },
  {
    label: 'Go module resolution failed',
    pattern:
      /missing go\.sum entry|updates to go\.mod needed|go: \S+@\S+: (?:invalid version|unknown revision|reading \S+: 404)|cannot find module providing package/,
  },
  {
    label: 'a JVM dependency could not be resolved',
    pattern:
      /Could not resolve dependencies for project|Could not find artifact|Could not resolve all (?:files|dependencies) for configuration/,
  },
  {
    label: 'Composer or Bundler could not resolve the dependencies',
    pattern:
      /Your requirements could not be resolved|Could not find gem|Bundler could not find compatible versions/,
  },
];

const TOOL_CATEGORY: Readonly<Record<string, FailureType>> = {
  jest: 'test',
  vitest: 'test',
  mocha: 'test',
  tap: 'test',
  'node:test': 'test',
  pytest: 'test',
  'go test': 'test',
  'cargo test': 'test',
  junit: 'test',
  phpunit: 'test',
  playwright: 'test',
  tsc: 'build',
  dotnet: 'build',
  rustc: 'build',
  go: 'build',
  javac: 'build',
  kotlinc: 'build',
  'gcc/clang': 'build',
  ld: 'build',
  make: 'build',
  cmake: 'build',
  vite: 'build',
  rollup: 'build',
  esbuild: 'build',
  eslint: 'lint',
  prettier: 'lint',
  ruff: 'lint',
  flake8: 'lint',
  black: 'lint',
  clippy: 'lint',
  'golangci-lint': 'lint',
  'go vet': 'lint',
  staticcheck: 'lint',
  mypy: 'lint',
};

// Build tools and package managers run tests, compilers and linters alike: their own
// trailers say which one failed.
const RUNNER_TOOLS = new Set(['maven', 'gradle', 'cargo', 'npm', 'pnpm', 'yarn', 'docker']);

const NAME_HINTS: readonly { type: FailureType; pattern: RegExp }[] = [
  {
    type: 'lint',
    pattern: /lint|eslint|prettier|format|\bfmt\b|style|ruff|flake8|black|clippy|golangci|\bvet\b/i,
  },
  { type: 'test', pattern: /test|pytest|jest|vitest|mocha|\bspecs?\b|e2e|cypress|playwright/i },
  {
    type: 'build',
    pattern:
      /build|compile|typecheck|type-check|\btsc\b|\bmake\b|cmake|webpack|bundle|assemble|package/i,
  },
  {
    type: 'dependency',
    pattern: /install|npm ci|pnpm i\b|\byarn\s*$|restore|dependencies|go mod download|cargo fetch/i,
  },
];

export function classifyFailure(input: ClassifyInput): Classification {
  const allLines = input.lines ?? input.blocks.flatMap((b) => [b.message, ...b.lines]);
  // A failing test that mentions ECONNRESET or a lock file is still a failing test.
  const blockLines = input.blocks
    .filter((b) => categoryOf(b) !== 'test')
    .flatMap((b) => [b.message, ...b.lines]);

  const runner = findRule(RUNNER_RULES, allLines);
  if (runner) return decide('infrastructure', 0.95, runner);
  const configuration = findRule(CONFIGURATION_RULES, allLines);
  if (configuration) return decide('configuration', 0.9, configuration);
  const networkInError = findRule(NETWORK_RULES, blockLines);
  if (networkInError) return decide('infrastructure', 0.85, networkInError);
  const network = findRule(NETWORK_RULES, allLines);
  const dependency = findRule(DEPENDENCY_RULES, blockLines);
  if (dependency) {
    if (!network) return decide('dependency', 0.9, dependency);
    return decide('infrastructure', 0.75, network, [
      `not counted as dependency: ${dependency.label} ("${dependency.evidence}")`,
    ]);
  }

  const specific = input.blocks.filter((b) => !b.generic);
  const first = specific[0];
  const firstType = first && categoryOf(first);
  if (first && firstType) return decide(firstType, 0.9, toolSignal(first, 'the first error'));
  const later = specific.find((b) => categoryOf(b) !== undefined);
  if (later) return decide(categoryOf(later) as FailureType, 0.8, toolSignal(later, 'an error'));
  const trailer = input.blocks.find((b) => categoryOf(b) !== undefined);
  if (trailer && !network) {
    return decide(categoryOf(trailer) as FailureType, 0.7, toolSignal(trailer, 'the final report'));
  }
  if (network) return decide('infrastructure', 0.6, network);

  const { stepName, jobName } = input;
  const stepHint = stepName ? nameHint(stepName) : undefined;
  if (stepName && stepHint) {
    return decide(stepHint, 0.5, { label: 'the name of the failed step', evidence: stepName });
  }
  const jobHint = jobName ? nameHint(jobName) : undefined;
  if (jobName && jobHint) {
    return decide(jobHint, 0.4, { label: 'the name of the failed job', evidence: jobName });
  }
  if (first)
    return decide('unknown', 0.3, { label: 'no known failure pattern', evidence: first.message });
  return decide('unknown', 0.2, { label: 'no error message was recognised' });
}

interface Signal {
  label: string;
  evidence?: string;
}

function decide(
  failureType: FailureType,
  confidence: number,
  signal: Signal,
  more: readonly string[] = [],
): Classification {
  const evidence = signal.evidence === undefined ? '' : ` ("${quote(signal.evidence)}")`;
  return {
    failureType,
    confidence,
    reason: signal.label,
    signals: [`${failureType}: ${signal.label}${evidence}`, ...more],
  };
}

function toolSignal(block: ErrorBlock, which: string): Signal {
  return { label: `${which} comes from ${block.tool}`, evidence: block.message };
}

function findRule(rules: readonly Rule[], lines: readonly string[]): Signal | undefined {
  const any = anyOf(rules);
  for (const line of lines) {
    if (!any.test(line)) continue;
    for (const rule of rules) {
      if (rule.pattern.test(line)) return { label: rule.label, evidence: quote(line) };
    }
  }
  return undefined;
}

const ANY_CACHE = new WeakMap<readonly Rule[], RegExp>();

// One regex per group lets a long log be scanned once per group instead of once per rule.
// It ignores case for every rule, so it matches a superset and the exact rules still decide.
function anyOf(rules: readonly Rule[]): RegExp {
  let any = ANY_CACHE.get(rules);
  if (!any) {
    any = new RegExp(rules.map((r) => `(?:${r.pattern.source})`).join('|'), 'i');
    ANY_CACHE.set(rules, any);
  }
  return any;
}

function categoryOf(block: ErrorBlock): FailureType | undefined {
  if (block.tool === undefined) return undefined;
  const fixed = TOOL_CATEGORY[block.tool];
  if (fixed) return fixed;
  if (!RUNNER_TOOLS.has(block.tool)) return undefined;
  if (/\btests?\b|test failures|failing tests/i.test(block.message)) return 'test';
  if (/compil|build/i.test(block.message)) return 'build';
  if (/lint|format|style/i.test(block.message)) return 'lint';
  return undefined;
}

function nameHint(name: string): FailureType | undefined {
  return NAME_HINTS.find((hint) => hint.pattern.test(name))?.type;
}

function quote(line: string): string {
  const text = line.trim().replace(/\s+/g, ' ');
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}
