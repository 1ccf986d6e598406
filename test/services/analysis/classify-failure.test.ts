import t from 'tap';
import { classifyFailure } from '../../../src/services/analysis/classify-failure.ts';
import { extractErrors } from '../../../src/services/analysis/extract-errors.ts';
import type { ErrorBlock } from '../../../src/services/analysis/types.ts';

function block(
  message: string,
  tool?: string,
  generic = false,
  lines: string[] = [message],
): ErrorBlock {
  const b: ErrorBlock = { message, lines, startLine: 0, references: [], generic };
  if (tool !== undefined) b.tool = tool;
  return b;
}

const jestFailure = block('sum › adds: expect(received).toBe(expected)', 'jest');
const exitTrailer = block('Process completed with exit code 1.', 'github-actions', true);

t.test('what the runner says about itself wins over everything', async (t) => {
  const cases: [string, string][] = [
    ['##[error]The operation was canceled.', 'the run was cancelled'],
    [
      '##[error]The job running on runner X has exceeded the maximum execution time of 360 minutes.',
      'the job hit its time limit',
    ],
    [
      'The hosted runner: GitHub Actions 7 lost communication with the server.',
      'the runner lost communication with GitHub',
    ],
    ['##[error]The runner has received a shutdown signal.', 'the runner was shut down'],
    [
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      'out of memory (JavaScript heap)',
    ],
    [
      '##[error]Process completed with exit code 137.',
      'a process was killed (exit code 137, usually out of memory)',
    ],
    ['Killed', 'a process was killed (exit code 137, usually out of memory)'],
    ['fork: Cannot allocate memory', 'out of memory'],
    [
      "  process didn't exit successfully: `rustc …` (signal: 9, SIGKILL: kill)",
      'a process was killed with SIGKILL (usually out of memory)',
    ],
    [
      'error: linking with `cc` failed: signal: 9 (SIGKILL)',
      'a process was killed with SIGKILL (usually out of memory)',
    ],
    [
      'c++: fatal error: Killed signal terminated program cc1plus',
      'a process was killed with SIGKILL (usually out of memory)',
    ],
    [
      'collect2: fatal error: ld terminated with signal 9 [Killed]',
      'a process was killed with SIGKILL (usually out of memory)',
    ],
    ['Error: ENOSPC: no space left on device, write', 'the disk is full'],
  ];
  for (const [line, reason] of cases) {
    const c = classifyFailure({ blocks: [jestFailure], lines: ['  ● sum › adds', line] });
    t.equal(c.failureType, 'infrastructure', line);
    t.equal(c.reason, reason, line);
    t.equal(c.confidence, 0.95);
  }
});

t.test('runner messages are matched with their exact spelling', async (t) => {
  const c = classifyFailure({
    blocks: [],
    lines: ['THE OPERATION WAS CANCELED BY THE TEST HARNESS'],
  });
  t.equal(c.failureType, 'unknown');
});

t.test('workflow configuration comes before network, dependency and tools', async (t) => {
  const cases: [string, string][] = [
    ['Invalid workflow file: .github/workflows/ci.yml#L3', 'the workflow file is invalid'],
    [
      '##[error]Unable to resolve action `actions/chekout@v4`, repository not found',
      'an action could not be resolved',
    ],
    ['HttpError: Resource not accessible by integration', 'GITHUB_TOKEN lacks a permission'],
    [
      'remote: Permission to acme/site.git denied to github-actions[bot].',
      'the workflow token may not push',
    ],
    ['##[error]Input required and not supplied: token', 'a required input or secret is missing'],
    [
      '##[error]Credentials could not be loaded, please check your action inputs',
      'credentials are missing',
    ],
    [
      "The version '3.7' with architecture 'x64' was not found for Ubuntu 24.04.",
      'a toolchain version is not available',
    ],
    ['npm error Missing script: "lint"', 'the workflow runs an npm script that does not exist'],
    [
      '##[error]Dependencies lock file is not found in /home/runner/work/a/a.',
      'the setup action found no lock file to cache',
    ],
  ];
  for (const [line, reason] of cases) {
    const c = classifyFailure({
      blocks: [block(line), block('connect ETIMEDOUT 1.2.3.4:443', 'npm')],
    });
    t.equal(c.failureType, 'configuration', line);
    t.equal(c.reason, reason, line);
  }
});

t.test('a network error in an error block is infrastructure, even during an install', async (t) => {
  const c = classifyFailure({
    blocks: [
      block('ECONNRESET: network request to https://registry.npmjs.org/x failed', 'npm'),
      block('ERESOLVE could not resolve', 'npm'),
    ],
  });
  t.equal(c.failureType, 'infrastructure');
  t.equal(c.reason, 'a network connection failed');
  t.equal(c.confidence, 0.85);
  for (const message of [
    'fatal: unable to access https://github.com/a/b/: Could not resolve host: github.com',
    'npm error 503 Service Unavailable - GET https://registry.npmjs.org/x',
    'toomanyrequests: You have reached your pull rate limit.',
    'fatal: the remote end hung up unexpectedly',
  ]) {
    t.equal(classifyFailure({ blocks: [block(message)] }).failureType, 'infrastructure', message);
  }
});

t.test('apt download failures are infrastructure, whatever the mirror answered', async (t) => {
  const cases: [string, string][] = [
    [
      'E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/c/curl/curl_8.5.0_amd64.deb  503  Service Unavailable [IP: 1.2.3.4 80]',
      'a registry or server returned a 5xx error',
    ],
    [
      'E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/c/curl/curl_8.5.0_amd64.deb  404  Not Found [IP: 1.2.3.4 80]',
      'apt could not download packages',
    ],
    [
      'E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?',
      'apt could not download packages',
    ],
    [
      "Err:1 http://archive.ubuntu.com/ubuntu jammy InRelease Temporary failure resolving 'archive.ubuntu.com'",
      'a host name could not be resolved',
    ],
  ];
  for (const [line, reason] of cases) {
    const c = classifyFailure({ blocks: [block(line, 'apt'), exitTrailer], jobName: 'test' });
    t.equal(c.failureType, 'infrastructure', line);
    t.equal(c.reason, reason, line);
  }
  const missing = classifyFailure({
    blocks: [
      block('Unable to locate package libfoo-dev', 'apt', false, [
        'E: Unable to locate package libfoo-dev',
      ]),
    ],
  });
  t.equal(missing.failureType, 'dependency');
  t.equal(missing.reason, 'a system package is not available');
});

t.test('a resolution error caused by the network is infrastructure, not dependency', async (t) => {
  const c = classifyFailure({
    blocks: [block('No matching distribution found for flask==3.0.3', 'pip')],
    lines: [
      "WARNING: Retrying after connection broken by 'NewConnectionError: Temporary failure in name resolution'",
    ],
  });
  t.equal(c.failureType, 'infrastructure');
  t.equal(c.confidence, 0.75);
  t.match(c.signals[1], /^not counted as dependency: pip could not resolve the requirements/);
});

t.test('dependency resolution errors', async (t) => {
  const messages = [
    'ERESOLVE unable to resolve dependency tree',
    'ETARGET: No matching version found for left-pad@^9.0.0.',
    'E404: 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found',
    'EUSAGE: `npm ci` can only install packages when your package.json and package-lock.json are in sync.',
    'ERR_PNPM_OUTDATED_LOCKFILE: Cannot install with "frozen-lockfile"',
    'ERR_PNPM_PEER_DEP_ISSUES: Unmet peer dependencies',
    'EINTEGRITY: sha512-abc integrity checksum failed',
    'No matching distribution found for torch==9.9.9',
    'error: failed to select a version for the requirement `serde = "^9"`',
    'missing go.sum entry for module providing package github.com/x/y',
    'Could not resolve dependencies for project com.acme:app:jar:1.0',
    'Your requirements could not be resolved to an installable set of packages.',
    'So, because app depends on both numpy (^2.0) and scipy (1.9.3), version solving failed.',
    '  SolverProblemError',
    'Could not find compatible versions',
    'Bundler could not find compatible versions for gem "rack":',
    'we can conclude that your requirements are unsatisfiable.',
    'diff --git a/go.sum b/go.sum',
    'diff current/go.mod tidy/go.mod',
    'diff --git a/web/package-lock.json b/web/package-lock.json',
    'diff --git a/Cargo.lock b/Cargo.lock',
    'E: Unable to locate package libfoo-dev',
    "E: Package 'python2' has no installation candidate",
  ];
  for (const message of messages) {
    const c = classifyFailure({ blocks: [block(message, 'npm')] });
    t.equal(c.failureType, 'dependency', message);
    t.equal(c.confidence, 0.9);
  }
});

t.test('a changed file that is not a dependency file is no dependency problem', async (t) => {
  for (const line of [
    'diff --git a/src/go.mod.ts b/src/go.mod.ts',
    'diff --git a/gen/api.go b/gen/api.go',
  ]) {
    const c = classifyFailure({ blocks: [block(line, 'git')] });
    t.equal(c.failureType, 'unknown', line);
  }
});

t.test(
  'a failing test that mentions a network error or a lock file is still a failing test',
  async (t) => {
    const c = classifyFailure({
      blocks: [block('http client › retries on ECONNRESET: expected 3 calls, got 1', 'jest')],
      lines: ['  ● http client › retries on ECONNRESET'],
    });
    t.equal(c.failureType, 'test');
    const lock = classifyFailure({
      blocks: [block('lockfile › reports ERESOLVE conflicts', 'vitest')],
    });
    t.equal(lock.failureType, 'test');
  },
);

t.test('the tool of the first specific error decides between test, build and lint', async (t) => {
  const cases: [string, string][] = [
    ['jest', 'test'],
    ['pytest', 'test'],
    ['junit', 'test'],
    ['tsc', 'build'],
    ['rustc', 'build'],
    ['gcc/clang', 'build'],
    ['eslint', 'lint'],
    ['clippy', 'lint'],
    ['black', 'lint'],
    ['go vet', 'lint'],
    ['staticcheck', 'lint'],
    ['phpunit', 'test'],
    ['playwright', 'test'],
    ['vite', 'build'],
    ['rollup', 'build'],
    ['esbuild', 'build'],
  ];
  for (const [tool, type] of cases) {
    const c = classifyFailure({
      blocks: [exitTrailer, block('some error', tool), block('other', 'eslint')],
    });
    t.equal(c.failureType, type, tool);
    t.equal(c.confidence, 0.9);
    t.equal(c.reason, `the first error comes from ${tool}`);
  }
});

t.test('a later specific error decides when the first one has no category', async (t) => {
  const c = classifyFailure({
    blocks: [block('TypeError: x is not a function'), block('src/a.ts(1,1): error TS2304', 'tsc')],
  });
  t.equal(c.failureType, 'build');
  t.equal(c.confidence, 0.8);
});

t.test('trailers of build tools and package managers say what failed', async (t) => {
  const cases: [ErrorBlock, string][] = [
    [block('Failed to execute goal …surefire…: There are test failures.', 'maven', true), 'test'],
    [
      block("Execution failed for task ':compileJava'. Compilation failed", 'gradle', true),
      'build',
    ],
    [block("Execution failed for task ':app:lintDebug'.", 'gradle', true), 'lint'],
    [block('make: *** [all] Error 2', 'make', true), 'build'],
    [block('error: test failed, to rerun pass `--lib`', 'cargo', true), 'test'],
    [block('ELIFECYCLE Test failed. See above for more details.', 'pnpm', true), 'test'],
    [block('3 problems (3 errors, 0 warnings)', 'eslint', true), 'lint'],
  ];
  for (const [b, type] of cases) {
    const c = classifyFailure({ blocks: [b, exitTrailer] });
    t.equal(c.failureType, type, b.message);
    t.equal(c.confidence, 0.7);
  }
  const unknownTrailer = classifyFailure({
    blocks: [block('Command failed with exit code 1.', 'yarn', true)],
  });
  t.equal(unknownTrailer.failureType, 'unknown');
});

t.test('a network problem outside error blocks beats a bare trailer', async (t) => {
  const c = classifyFailure({
    blocks: [block('make: *** [all] Error 2', 'make', true)],
    lines: ['curl: (6) Could not resolve host: example.com', 'make: *** [all] Error 2'],
  });
  t.equal(c.failureType, 'infrastructure');
  t.equal(c.confidence, 0.6);
  const noBlocks = classifyFailure({ blocks: [], lines: ['read tcp 10.0.0.1:443: i/o timeout'] });
  t.equal(noBlocks.failureType, 'infrastructure');
});

t.test('step and job names are the last resort', async (t) => {
  const cases: [string, string][] = [
    ['Run npm run lint', 'lint'],
    ['Run cargo fmt --check', 'lint'],
    ['Run npm test', 'test'],
    ['Run pytest -q', 'test'],
    ['Run npm run build', 'build'],
    ['Run make', 'build'],
    ['Run npm ci', 'dependency'],
    ['Run pip install -r requirements.txt', 'dependency'],
  ];
  for (const [stepName, type] of cases) {
    const c = classifyFailure({ blocks: [exitTrailer], stepName });
    t.equal(c.failureType, type, stepName);
    t.equal(c.confidence, 0.5);
    t.match(c.signals[0], stepName);
  }
  const job = classifyFailure({
    blocks: [exitTrailer],
    stepName: 'Run ./ci.sh',
    jobName: 'unit tests',
  });
  t.equal(job.failureType, 'test');
  t.equal(job.confidence, 0.4);
  t.equal(
    classifyFailure({ blocks: [], stepName: null, jobName: 'deploy' }).failureType,
    'unknown',
  );
});

t.test('unknown when nothing is recognised', async (t) => {
  const withBlock = classifyFailure({ blocks: [block('Something odd happened')] });
  t.equal(withBlock.failureType, 'unknown');
  t.equal(withBlock.confidence, 0.3);
  t.equal(withBlock.signals[0], 'unknown: no known failure pattern ("Something odd happened")');
  const nothing = classifyFailure({ blocks: [], lines: ['all good'] });
  t.same(nothing, {
    failureType: 'unknown',
    confidence: 0.2,
    reason: 'no error message was recognised',
    signals: ['unknown: no error message was recognised'],
  });
});

t.test('signals quote the deciding line, shortened', async (t) => {
  const c = classifyFailure({
    blocks: [],
    lines: [`Killed ${'x'.repeat(300)}`.replace('Killed ', '1 Killed   ')],
  });
  t.equal(c.failureType, 'infrastructure');
  t.ok((c.signals[0] ?? '').length < 260);
  t.match(c.signals[0], /…"\)$/);
});

t.test('go vet reports are lint, compile errors in a vet step are build', async (t) => {
  const vet = [
    '##[group]Run go vet ./...',
    'go vet ./...',
    '##[endgroup]',
    '# example.com/app/internal/db',
    '# [example.com/app/internal/db]',
    'internal/db/pool.go:40:9: return copies lock value: db.Pool contains sync.Mutex',
    '##[error]Process completed with exit code 1.',
  ];
  t.equal(classifyFailure({ blocks: extractErrors(vet), lines: vet }).failureType, 'lint');
  const noHeader = [vet[0] ?? '', 'internal/db/pool.go:52:2: unreachable code'];
  t.equal(
    classifyFailure({ blocks: extractErrors(noHeader), lines: noHeader }).failureType,
    'lint',
  );
  const compile = [
    vet[0] ?? '',
    '# example.com/app/internal/db',
    'internal/db/pool.go:12:2: undefined: newPool',
  ];
  t.equal(classifyFailure({ blocks: extractErrors(compile), lines: compile }).failureType, 'build');
});

t.test('works on blocks straight from extractErrors', async (t) => {
  const lines = [
    'src/a.ts(3,5): error TS2322: nope',
    '##[error]Process completed with exit code 2.',
  ];
  t.equal(classifyFailure({ blocks: extractErrors(lines), lines }).failureType, 'build');
});
