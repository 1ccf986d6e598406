import t from 'tap';
import {
  MAX_BLOCKS,
  MAX_BLOCK_LINES,
  extractErrors,
} from '../../../src/services/analysis/extract-errors.ts';
import type { ErrorBlock } from '../../../src/services/analysis/types.ts';

const text = (s: string) => s.replace(/^\n/, '').split('\n');
const summary = (blocks: ErrorBlock[]) =>
  blocks.map((b) => ({ message: b.message, tool: b.tool, generic: b.generic }));

interface Case {
  name: string;
  log: string;
  expected: { message: string; tool?: string; generic?: boolean }[];
}

const CASES: Case[] = [
  {
    name: 'jest',
    log: `
FAIL src/sum.test.js
  ● sum › adds

    expect(received).toBe(expected) // Object.is equality

      at Object.toBe (src/sum.test.js:6:23)

  ● Deprecation Warning:

    Option "x" was replaced

Tests: 1 failed`,
    expected: [
      {
        message: 'sum › adds: expect(received).toBe(expected) // Object.is equality',
        tool: 'jest',
      },
    ],
  },
  {
    name: 'vitest, test and suite failures',
    log: `
 FAIL  src/a.test.ts > math > adds
AssertionError: expected 3 to be 4
⎯⎯⎯⎯[1/2]⎯
 FAIL  src/b.test.ts [ src/b.test.ts ]
Error: Failed to load url ./missing
⎯⎯⎯⎯[2/2]⎯`,
    expected: [
      { message: 'math > adds: AssertionError: expected 3 to be 4', tool: 'vitest' },
      { message: 'src/b.test.ts: Error: Failed to load url ./missing', tool: 'vitest' },
    ],
  },
  {
    name: 'mocha, only after the "failing" count',
    log: `
      1) inline numbering is not a failure report
  1 passing
  2 failing

  1) Cart
       total:
     Error: expected 1
      at Context.<anonymous> (test/cart.spec.js:4:9)

  2) single line title
     TypeError: x is not a function
npm error code 1`,
    expected: [
      { message: 'Cart total: Error: expected 1', tool: 'mocha' },
      { message: 'single line title: TypeError: x is not a function', tool: 'mocha' },
      { message: 'code 1', tool: 'npm', generic: true },
    ],
  },
  {
    name: 'TAP: node-tap found/wanted, tape block scalars, TODO and parents',
    log: `
    not ok 1 - should be equal
      ---
      found: 3
      wanted: 4
      at:
        fileName: test/sum.test.js
        lineNumber: 5
        columnNumber: 7
      ...
    not ok 2 - later # TODO
not ok 1 - test/sum.test.js # time=12ms
not ok 3 - message given
  ---
  message: 'boom'
  ...`,
    expected: [
      { message: 'should be equal: expected 4, got 3', tool: 'tap' },
      { message: 'message given: boom', tool: 'tap' },
    ],
  },
  {
    name: 'TAP failures without details are kept when nothing explains them',
    log: `
not ok 1 - empty block scalar
  ---
  error: |-
  ...
not ok 2 - only found
  ---
  found: 3
  ...`,
    expected: [
      { message: 'empty block scalar', tool: 'tap' },
      { message: 'only found', tool: 'tap' },
    ],
  },
  {
    name: 'node:test spec reporter',
    log: `
▶ suite
  ✖ parses (1.2ms)
    AssertionError [ERR_ASSERTION]: nope
✖ suite (2ms)
✖ failing tests:`,
    expected: [{ message: 'parses: AssertionError [ERR_ASSERTION]: nope', tool: 'node:test' }],
  },
  {
    name: 'pytest sections, collection errors and the short summary',
    log: `
=================================== FAILURES ===================================
_________________________________ test_total __________________________________

>       assert total() == 3
E       assert 2 == 3

tests/test_a.py:5: AssertionError
______________________ ERROR collecting tests/test_b.py _______________________
tests/test_b.py:1: in <module>
    import requests
E   ModuleNotFoundError: No module named 'requests'
_________________________________ test_no_e __________________________________
tests/test_c.py:9: Failed
=========================== short test summary info ============================
FAILED tests/test_a.py::test_total - assert 2 == 3`,
    expected: [
      { message: 'test_total: assert 2 == 3', tool: 'pytest' },
      {
        message:
          "ERROR collecting tests/test_b.py: ModuleNotFoundError: No module named 'requests'",
        tool: 'pytest',
      },
      { message: 'test_no_e: Failed', tool: 'pytest' },
    ],
  },
  {
    name: 'pytest summary lines alone',
    log: `
FAILED tests/test_a.py::test_total - assert 2 == 3
ERROR tests/test_b.py
FAILED build`,
    expected: [
      { message: 'tests/test_a.py::test_total: assert 2 == 3', tool: 'pytest' },
      { message: 'tests/test_b.py', tool: 'pytest' },
    ],
  },
  {
    name: 'go test without -v',
    log: `
--- FAIL: TestAdd (0.00s)
    add_test.go:9: got 3, want 4
        extra detail line
FAIL
FAIL	github.com/acme/calc	0.004s
FAIL	github.com/acme/other [build failed]`,
    expected: [
      { message: 'TestAdd: add_test.go:9: got 3, want 4', tool: 'go test' },
      { message: 'FAIL', tool: 'go test', generic: true },
      { message: 'FAIL github.com/acme/calc 0.004s', tool: 'go test', generic: true },
      { message: 'FAIL github.com/acme/other [build failed]', tool: 'go test', generic: true },
    ],
  },
  {
    name: 'go test failure without detail, and a detail without a test name',
    log: `
    helper_test.go:3: setup failed
--- FAIL: TestOnlyName (0.00s)`,
    expected: [{ message: 'helper_test.go:3: setup failed', tool: 'go test' }],
  },
  {
    name: 'go test summary kept when no detail explains it',
    log: `--- FAIL: TestOnlyName (0.00s)`,
    expected: [{ message: 'TestOnlyName failed', tool: 'go test' }],
  },
  {
    name: 'cargo test, old and new panic formats',
    log: `
test a::one ... FAILED
test a::two ... FAILED

---- a::one stdout ----
thread 'a::one' panicked at 'assertion failed: x', src/lib.rs:3:5
---- a::two stdout ----
thread 'a::two' panicked at src/lib.rs:9:5:
called \`Option::unwrap()\` on a \`None\` value
---- a::three stdout ----
thread 'a::three' panicked at 'no comma
failures:
---- a::four stdout ----
thread 'a::four' panicked at src/lib.rs:1:1:`,
    expected: [
      { message: 'a::one: assertion failed: x', tool: 'cargo test' },
      { message: 'a::two: called `Option::unwrap()` on a `None` value', tool: 'cargo test' },
      { message: 'a::three: no comma', tool: 'cargo test' },
      { message: 'a::four: src/lib.rs:1:1:', tool: 'cargo test' },
    ],
  },
  {
    name: 'cargo test summary alone, and a stdout section without a panic',
    log: `
test a::one ... FAILED
---- a::two stdout ----
printed output`,
    expected: [{ message: 'a::two', tool: 'cargo test' }],
  },
  {
    name: 'surefire (new and old formats) and the Results summary',
    log: `
[ERROR] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0 <<< FAILURE! -- in com.acme.AppTest
[ERROR] com.acme.AppTest.adds -- Time elapsed: 0.01 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <4> but was: <3>
	at com.acme.AppTest.adds(AppTest.java:12)
testOld(com.acme.OldTest)  Time elapsed: 0.02 sec  <<< ERROR!
java.lang.NullPointerException
Tests run: 1, Failures: 1 <<< FAILURE!
odd <<< FAILURE!
[INFO] Results:
[ERROR] Failures:
[ERROR]   AppTest.adds:12 expected: <4> but was: <3>
[INFO]`,
    expected: [
      {
        message:
          'com.acme.AppTest.adds: org.opentest4j.AssertionFailedError: expected: <4> but was: <3>',
        tool: 'junit',
      },
      { message: 'testOld(com.acme.OldTest): java.lang.NullPointerException', tool: 'junit' },
      { message: 'odd <<< FAILURE!', tool: 'junit' },
    ],
  },
  {
    name: 'gradle test and build failures',
    log: `
AppTest > adds() FAILED
    org.opentest4j.AssertionFailedError at AppTest.java:12

* What went wrong:
Execution failed for task ':test'.
> There were failing tests. See the report at: file:///x/index.html

* What went wrong:
Could not resolve all files for configuration ':compileClasspath'.
   > Could not find com.acme:lib:9.9.9.

* What went wrong:

* Try:`,
    expected: [
      {
        message: 'AppTest > adds(): org.opentest4j.AssertionFailedError at AppTest.java:12',
        tool: 'junit',
      },
      {
        message:
          "Execution failed for task ':test'. There were failing tests. See the report at: file:///x/index.html",
        tool: 'gradle',
        generic: true,
      },
      {
        message:
          "Could not resolve all files for configuration ':compileClasspath'. Could not find com.acme:lib:9.9.9.",
        tool: 'gradle',
      },
      { message: '* What went wrong:', tool: 'gradle' },
    ],
  },
  {
    name: 'maven compiler errors and goal failures',
    log: `
[ERROR] /home/runner/work/p/p/src/A.java:[5,9] cannot find symbol
  symbol:   variable x
  location: class A
[ERROR] /home/runner/work/p/p/src/B.java:[7,1] class, interface, or enum expected
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.13.0:compile (default-compile) on project p: Compilation failure
[ERROR] Failed to execute goal on project p: Could not resolve dependencies for project com.acme:p:jar:1.0`,
    expected: [
      { message: 'src/A.java:[5,9] cannot find symbol (symbol: variable x)', tool: 'javac' },
      { message: 'src/B.java:[7,1] class, interface, or enum expected', tool: 'javac' },
      {
        message:
          'Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.13.0:compile (default-compile) on project p: Compilation failure',
        tool: 'maven',
        generic: true,
      },
      {
        message:
          'Failed to execute goal on project p: Could not resolve dependencies for project com.acme:p:jar:1.0',
        tool: 'maven',
      },
    ],
  },
  {
    name: 'tsc and dotnet',
    log: `
src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.
src/b.ts:4:1 - error TS1005: ';' expected.

4 let x = 1
  ~
src/c.ts:1:1 - error TS2304: Cannot find name 'y'.
Found 2 errors in 2 files.
error TS5023: Unknown compiler option 'strictest'.
Program.cs(12,13): error CS0103: The name 'foo' does not exist`,
    expected: [
      {
        message: "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.",
        tool: 'tsc',
      },
      { message: "src/b.ts:4:1 - error TS1005: ';' expected.", tool: 'tsc' },
      { message: "src/c.ts:1:1 - error TS2304: Cannot find name 'y'.", tool: 'tsc' },
      { message: "error TS5023: Unknown compiler option 'strictest'.", tool: 'tsc' },
      { message: "Program.cs(12,13): error CS0103: The name 'foo' does not exist", tool: 'dotnet' },
    ],
  },
  {
    name: 'rustc, clippy and cargo',
    log: `
error[E0308]: mismatched types
 --> src/main.rs:3:5

error: unused variable: \`x\`
 --> src/lib.rs:2:9
  = note: \`-D clippy::all\` implied by \`-D warnings\`

error: cannot find macro \`foo\` in this scope
 --> src/lib.rs:9:5

error: failed to select a version for the requirement \`serde = "^9"\`
candidate versions found which didn't match: 1.0.1

error: something without a location

error: could not compile \`app\` (bin "app") due to 1 previous error
warning: unused import`,
    expected: [
      { message: 'error[E0308]: mismatched types', tool: 'rustc' },
      { message: 'error: unused variable: `x`', tool: 'clippy' },
      { message: 'error: cannot find macro `foo` in this scope', tool: 'rustc' },
      {
        message: 'error: failed to select a version for the requirement `serde = "^9"`',
        tool: 'cargo',
      },
      { message: 'error: something without a location' },
      {
        message: 'error: could not compile `app` (bin "app") due to 1 previous error',
        tool: 'cargo',
        generic: true,
      },
    ],
  },
  {
    name: 'path:line: messages from compilers and linters',
    log: `
src/x.c:5:12: error: 'y' undeclared
    5 |     return y;
      |            ^
src/x.c:6:1: warning: unused
src/x.c:7:1: note: declared here
src/y.c:9: something that is not an error
src/A.java:12: error: cannot find symbol
src/A.java:13: some javac note
main.go:10:2: undefined: foo
main.go:11:2: ineffectual assignment to err (ineffassign)
./app.py:3:1: F401 'os' imported but unused
app.py:4:1: E501 line too long
app.py:12: error: Incompatible types in assignment
app.py:13: note something
src/a.js:3:7: 'x' is assigned a value but never used. [Error/no-unused-vars]
src/b.js:4:1: error: custom
src/c.js:5:1: just output
README:1:1: error: not a source file`,
    expected: [
      { message: "src/x.c:5:12: error: 'y' undeclared", tool: 'gcc/clang' },
      { message: 'src/A.java:12: error: cannot find symbol', tool: 'javac' },
      { message: 'main.go:10:2: undefined: foo', tool: 'go' },
      {
        message: 'main.go:11:2: ineffectual assignment to err (ineffassign)',
        tool: 'golangci-lint',
      },
      { message: "./app.py:3:1: F401 'os' imported but unused", tool: 'flake8' },
      { message: 'app.py:4:1: E501 line too long', tool: 'ruff' },
      { message: 'app.py:12: error: Incompatible types in assignment', tool: 'mypy' },
      {
        message: "src/a.js:3:7: 'x' is assigned a value but never used. [Error/no-unused-vars]",
        tool: 'eslint',
      },
      { message: 'src/b.js:4:1: error: custom' },
    ],
  },
  {
    name: 'kotlinc, ld, make, ninja and cmake',
    log: `
e: file:///home/runner/work/a/a/src/Main.kt:3:5 Unresolved reference: foo
main.c:(.text+0x5): undefined reference to \`bar'
Undefined symbols for architecture arm64:
collect2: error: ld returned 1 exit status
clang: error: linker command failed with exit code 1 (use -v to see invocation)
ninja: build stopped: subcommand failed.
make[2]: *** [Makefile:9: app] Error 1
CMake Error at CMakeLists.txt:12 (find_package):
  Could not find a package configuration file provided by "Boost"

CMake Error: The source directory does not exist.`,
    expected: [
      { message: 'src/Main.kt:3:5 Unresolved reference: foo', tool: 'kotlinc' },
      { message: "main.c:(.text+0x5): undefined reference to `bar'", tool: 'ld' },
      { message: 'Undefined symbols for architecture arm64:', tool: 'ld' },
      { message: 'collect2: error: ld returned 1 exit status', tool: 'ld', generic: true },
      {
        message: 'clang: error: linker command failed with exit code 1 (use -v to see invocation)',
        tool: 'ld',
        generic: true,
      },
      { message: 'ninja: build stopped: subcommand failed.', tool: 'ld', generic: true },
      { message: 'make[2]: *** [Makefile:9: app] Error 1', tool: 'make', generic: true },
      {
        message:
          'CMake Error at CMakeLists.txt:12 (find_package): Could not find a package configuration file provided by "Boost"',
        tool: 'cmake',
      },
      { message: 'CMake Error: The source directory does not exist.', tool: 'cmake' },
    ],
  },
  {
    name: 'eslint stylish output',
    log: `
/home/runner/work/a/a/src/App.jsx
   3:10  error    'useState' is defined but never used  no-unused-vars
   4:1   warning  Unexpected console statement          no-console
   9:1   error    Parsing error: Unexpected token

✖ 3 problems (2 errors, 1 warning)`,
    expected: [
      { message: "'useState' is defined but never used (no-unused-vars)", tool: 'eslint' },
      { message: 'Parsing error: Unexpected token', tool: 'eslint' },
      { message: '3 problems (2 errors, 1 warning)', tool: 'eslint', generic: true },
    ],
  },
  {
    name: 'prettier, black and ruff',
    log: `
[warn] a.ts
[warn] b.ts
[warn] c.ts
[warn] d.md
[warn] Code style issues found in 4 files. Run Prettier with --write to fix.
Code style issues found in the above file(s). Forgot to run Prettier?
[error] src/x.ts: SyntaxError: Unexpected token (3:5)
would reformat /home/runner/work/r/r/pkg/mod.py
would reformat setup.cfg.bak
Would reformat: pkg/other.py
F401 [*] \`os\` imported but unused
 --> pkg/a.py:1:8
  |
1 | import os

E999 no location follows`,
    expected: [
      {
        message:
          'Code style issues found in 4 files. Run Prettier with --write to fix. (a.ts, b.ts, c.ts, …)',
        tool: 'prettier',
      },
      {
        message: 'Code style issues found in the above file(s). Forgot to run Prettier?',
        tool: 'prettier',
      },
      { message: 'src/x.ts: SyntaxError: Unexpected token (3:5)', tool: 'prettier' },
      { message: 'would reformat pkg/mod.py', tool: 'black' },
      { message: 'would reformat setup.cfg.bak', tool: 'black' },
      { message: 'would reformat pkg/other.py', tool: 'ruff' },
      { message: 'F401 [*] `os` imported but unused', tool: 'ruff' },
    ],
  },
  {
    name: 'npm, old and new prefixes',
    log: `
npm ERR! code E404
npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found
npm ERR! A complete log of this run can be found in: /home/runner/.npm/_logs/x.log

npm error A complete log of this run can be found in: /home/runner/.npm/_logs/y.log

npm error Lifecycle script \`test\` failed with error:
npm error code 1
npm error command failed

npm ERR! code ELIFECYCLE
npm ERR! Test failed.  See above for more details.

npm error Missing script: "lint"

npm error code ECONNRESET`,
    expected: [
      {
        message: 'E404: 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found',
        tool: 'npm',
      },
      { message: '1: Lifecycle script `test` failed with error:', tool: 'npm', generic: true },
      {
        message: 'ELIFECYCLE: Test failed. See above for more details.',
        tool: 'npm',
        generic: true,
      },
      { message: 'Missing script: "lint"', tool: 'npm' },
      { message: 'code ECONNRESET', tool: 'npm' },
    ],
  },
  {
    name: 'npm failures without a code',
    log: `
npm ERR! Test failed.  See above for more details.

npm ERR! code 1
npm ERR! Missing script: "x"`,
    expected: [
      { message: 'Test failed. See above for more details.', tool: 'npm', generic: true },
      { message: '1: Missing script: "x"', tool: 'npm' },
    ],
  },
  {
    name: 'pnpm and yarn',
    log: `
 ERR_PNPM_NO_MATCHING_VERSION  No matching version found for left-pad@^9.0.0

packages/web test: Failed
 ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL  @acme/web@1.0.0 test: \`vitest run\`

ERR_PNPM_PEER_DEP_ISSUES

 ELIFECYCLE  Test failed. See above for more details.
error Couldn't find any versions for "left-pad" that matches "^9.0.0"
error Command failed with exit code 1.
➤ YN0028: │ The lockfile would have been modified by this install, which is explicitly forbidden.
➤ YN0000: · Done with warnings`,
    expected: [
      {
        message: 'ERR_PNPM_NO_MATCHING_VERSION: No matching version found for left-pad@^9.0.0',
        tool: 'pnpm',
      },
      {
        message: 'ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL: @acme/web@1.0.0 test: `vitest run`',
        tool: 'pnpm',
        generic: true,
      },
      { message: 'ERR_PNPM_PEER_DEP_ISSUES', tool: 'pnpm' },
      {
        message: 'ELIFECYCLE Test failed. See above for more details.',
        tool: 'pnpm',
        generic: true,
      },
      { message: 'Couldn\'t find any versions for "left-pad" that matches "^9.0.0"', tool: 'yarn' },
      { message: 'Command failed with exit code 1.', tool: 'yarn', generic: true },
      {
        message:
          'YN0028: The lockfile would have been modified by this install, which is explicitly forbidden.',
        tool: 'yarn',
      },
    ],
  },
  {
    name: 'pip, docker and go modules',
    log: `
ERROR: No matching distribution found for torch==9.9.9
ERROR: something else entirely
ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2
ERROR: failed to solve: failed to compute cache key: "/app/x" not found
Error response from daemon: manifest unknown
go: downloading github.com/x/y v1.0.0
go: github.com/x/y@v1.2.3: invalid version: unknown revision v1.2.3`,
    expected: [
      { message: 'No matching distribution found for torch==9.9.9', tool: 'pip' },
      { message: 'something else entirely' },
      {
        message:
          'failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        tool: 'docker',
        generic: true,
      },
      {
        message: 'failed to solve: failed to compute cache key: "/app/x" not found',
        tool: 'docker',
      },
      { message: 'Error response from daemon: manifest unknown', tool: 'docker' },
      {
        message: 'go: github.com/x/y@v1.2.3: invalid version: unknown revision v1.2.3',
        tool: 'go',
      },
    ],
  },
  {
    name: 'python tracebacks, thrown JS errors, git and go panics',
    log: `
Traceback (most recent call last):
  File "/home/runner/work/a/a/app/main.py", line 3, in <module>
    run()
ValueError: bad value
TypeError: Cannot read properties of undefined (reading 'x')
    at main (/home/runner/work/a/a/src/index.js:3:9)
Uncaught ReferenceError: y is not defined
Error: Process completed with exit code 2.
Error: The process '/usr/bin/git' failed with exit code 128
fatal: not a git repository (or any of the parent directories): .git
remote: Permission to acme/x.git denied to bot.
error: failed to push some refs to 'https://github.com/acme/x'
panic: runtime error: index out of range [3] with length 3
Traceback (most recent call last):
  File "x.py", line 1`,
    expected: [
      { message: 'ValueError: bad value', tool: 'python' },
      { message: "TypeError: Cannot read properties of undefined (reading 'x')" },
      { message: 'Uncaught ReferenceError: y is not defined' },
      { message: 'Error: Process completed with exit code 2.', generic: true },
      { message: "Error: The process '/usr/bin/git' failed with exit code 128", generic: true },
      {
        message: 'fatal: not a git repository (or any of the parent directories): .git',
        tool: 'git',
      },
      { message: 'remote: Permission to acme/x.git denied to bot.', tool: 'git' },
      { message: "error: failed to push some refs to 'https://github.com/acme/x'", tool: 'git' },
      { message: 'panic: runtime error: index out of range [3] with length 3', tool: 'go' },
      { message: 'Traceback (most recent call last):', tool: 'python' },
    ],
  },
  {
    name: 'runner, memory, disk and workflow messages',
    log: `
FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
write /var/lib/docker/tmp: no space left on device
Killed
/home/runner/work/_temp/x.sh: line 1:  2290 Killed                  pytest
The hosted runner: GitHub Actions 7 lost communication with the server.
Invalid workflow file: .github/workflows/ci.yml#L3
A worker process has failed to exit gracefully and has been force exited... This is likely caused by tests leaking
    message: 'Resource not accessible by integration'`,
    expected: [
      {
        message:
          'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
        tool: 'node',
      },
      { message: 'write /var/lib/docker/tmp: no space left on device' },
      { message: 'Killed' },
      { message: '/home/runner/work/_temp/x.sh: line 1: 2290 Killed pytest' },
      {
        message: 'The hosted runner: GitHub Actions 7 lost communication with the server.',
        tool: 'github-actions',
      },
      { message: 'Invalid workflow file: .github/workflows/ci.yml#L3', tool: 'github-actions' },
    ],
  },
  {
    name: '##[error] lines: parsed as tool output when they are, action messages otherwise',
    log: `
##[error]src/a.ts(1,1): error TS2304: Cannot find name 'x'.
##[error]Input required and not supplied: token
##[error]Unhandled error: HttpError: Not Found
##[error]
##[error]Process completed with exit code 1.
##[error]The process '/usr/bin/git' failed with exit code 128
##[warning]Node.js 16 actions are deprecated.`,
    expected: [
      { message: "src/a.ts(1,1): error TS2304: Cannot find name 'x'.", tool: 'tsc' },
      { message: 'Input required and not supplied: token', tool: 'github-actions' },
      { message: 'Unhandled error: HttpError: Not Found', tool: 'github-actions' },
      { message: 'Unknown error', tool: 'github-actions' },
      { message: 'Process completed with exit code 1.', tool: 'github-actions', generic: true },
      {
        message: "The process '/usr/bin/git' failed with exit code 128",
        tool: 'github-actions',
        generic: true,
      },
    ],
  },
  {
    name: 'apt: fetch failures, their summary, and missing packages',
    log: `
Err:3 http://archive.ubuntu.com/ubuntu jammy/main amd64 libxml2-dev amd64 2.9.13
  503  Service Unavailable [IP: 185.125.190.39 80]
W: Some index files failed to download. They have been ignored, or old ones used instead.
E: Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/libx/libxml2/libxml2-dev_2.9.13_amd64.deb  503  Service Unavailable [IP: 185.125.190.39 80]
E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?
E: Unable to locate package libfoo-dev
E       assert 1 == 2`,
    expected: [
      {
        message:
          'Failed to fetch http://archive.ubuntu.com/ubuntu/pool/main/libx/libxml2/libxml2-dev_2.9.13_amd64.deb 503 Service Unavailable [IP: 185.125.190.39 80]',
        tool: 'apt',
      },
      { message: 'Unable to locate package libfoo-dev', tool: 'apt' },
    ],
  },
  {
    name: 'apt: a summary alone is kept',
    log: `
E: Some index files failed to download. They have been ignored, or old ones used instead.`,
    expected: [
      {
        message:
          'Some index files failed to download. They have been ignored, or old ones used instead.',
        tool: 'apt',
      },
    ],
  },
  {
    name: 'version solvers: Bundler (both formats), Poetry, pub and uv',
    log: `
Could not find compatible versions

Because every version of sidekiq-pro depends on sidekiq >= 7.2
  and Gemfile depends on sidekiq ~> 6.5,
  sidekiq-pro cannot be used.
So, because Gemfile depends on sidekiq-pro >= 0,
  version solving has failed.
Bundler could not find compatible versions for gem "rack":
  In Gemfile:
    sinatra (~> 4.0) was resolved to 4.0.0, which depends on
      rack (>= 3.0.0, < 4)

    puma (~> 5.6) was resolved to 5.6.8, which depends on
      rack (< 3)

Running \`bundle update\` will rebuild your snapshot from scratch
Because django-ninja (1.3.0) depends on pydantic (>=2.0,<3.0.0)
 and myapp depends on pydantic (^1.10), django-ninja is forbidden.
So, because myapp depends on django-ninja (1.3.0), version solving failed.
Because app depends on intl ^0.19.0 which doesn't match any versions, version solving failed.
  × No solution found when resolving dependencies:
  ╰─▶ Because only httpx<0.20 is available and you require httpx>=0.27, we can conclude that your requirements are unsatisfiable.
Because this sentence never reaches a solver's conclusion, it is not an error.`,
    expected: [
      {
        message:
          'Could not find compatible versions: Because every version of sidekiq-pro depends on sidekiq >= 7.2',
        tool: 'bundler',
      },
      { message: 'Bundler could not find compatible versions for gem "rack"', tool: 'bundler' },
      {
        message: 'Because django-ninja (1.3.0) depends on pydantic (>=2.0,<3.0.0)',
        tool: 'poetry',
      },
      {
        message:
          "Because app depends on intl ^0.19.0 which doesn't match any versions, version solving failed.",
        tool: 'pubgrub',
      },
      {
        message:
          'Because only httpx<0.20 is available and you require httpx>=0.27, we can conclude that your requirements are unsatisfiable.',
        tool: 'uv',
      },
    ],
  },
  {
    name: 'git diff after a dependency update, go mod tidy -diff, and other changed files',
    log: `
diff --git a/package-lock.json b/package-lock.json
index 3f2a1b0..8c9d7e6 100644
--- a/package-lock.json
+++ b/package-lock.json
@@ -1204,7 +1204,7 @@
-      "version": "4.17.20",
+      "version": "4.17.21",
 
diff --git a/go.sum b/go.sum
--- a/go.sum
+++ b/go.sum
@@ -1 +1 @@
-example.com/x v1.0.0 h1:abc=

fatal: not a git repository
diff current/go.mod tidy/go.mod
--- current/go.mod
+++ tidy/go.mod
@@ -3,3 +3,4 @@
+require golang.org/x/text v0.18.0
Error: Process completed with exit code 1.
diff --git a/src/generated/api.ts b/src/generated/api.ts
+export type Id = string;`,
    expected: [
      { message: 'files differ from the commit: package-lock.json, go.sum', tool: 'git' },
      { message: 'fatal: not a git repository', tool: 'git' },
      { message: 'files differ from the commit: go.mod', tool: 'go mod' },
      { message: 'Error: Process completed with exit code 1.', generic: true },
      { message: 'files differ from the commit: src/generated/api.ts', tool: 'git' },
    ],
  },
  {
    name: 'go vet: "# [pkg]" reports, a go vet step, and compile errors',
    log: `
##[group]Run go vet ./...
# example.com/app/internal/db
# [example.com/app/internal/db]
internal/db/pool.go:40:9: return copies lock value: example.com/app/internal/db.Pool contains sync.Mutex
# example.com/app/cmd/api
cmd/api/main.go:12:2: undefined: serveHTTP
cmd/api/main.go:30:5: self-assignment of cfg to cfg
main.go:8:2: "os" imported and not used
internal/x/y.go:3:1: result of fmt.Sprintf call not used (SA4017)`,
    expected: [
      {
        message:
          'internal/db/pool.go:40:9: return copies lock value: example.com/app/internal/db.Pool contains sync.Mutex',
        tool: 'go vet',
      },
      { message: 'cmd/api/main.go:12:2: undefined: serveHTTP', tool: 'go' },
      { message: 'cmd/api/main.go:30:5: self-assignment of cfg to cfg', tool: 'go vet' },
      { message: 'main.go:8:2: "os" imported and not used', tool: 'go' },
      {
        message: 'internal/x/y.go:3:1: result of fmt.Sprintf call not used (SA4017)',
        tool: 'staticcheck',
      },
    ],
  },
  {
    name: 'go build errors outside a go vet step stay compile errors',
    log: `
##[group]Run go build ./...
# example.com/app/cmd/api
cmd/api/main.go:30:5: self-assignment of cfg to cfg`,
    expected: [{ message: 'cmd/api/main.go:30:5: self-assignment of cfg to cfg', tool: 'go' }],
  },
  {
    name: 'a process killed with SIGKILL, its long command cut to the program',
    log: `
error: could not compile \`serde_json\` (lib)
Caused by:
  process didn't exit successfully: \`/home/runner/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc --crate-name serde_json --edition=2021 src/lib.rs\` (signal: 9, SIGKILL: kill)
  process didn't exit successfully: \`/home/runner/work/a/a/target/debug/build/ring-1/build-script-build\` (exit status: 1)
  process didn't exit successfully: \`/tmp/x\` (signal: 9, SIGKILL: kill)
c++: fatal error: Killed signal terminated program cc1plus
collect2: fatal error: ld terminated with signal 9 [Killed]`,
    expected: [
      { message: 'error: could not compile `serde_json` (lib)', tool: 'cargo', generic: true },
      {
        message: "process didn't exit successfully: `rustc …` (signal: 9, SIGKILL: kill)",
        tool: 'cargo',
      },
      {
        message: "process didn't exit successfully: `x` (signal: 9, SIGKILL: kill)",
        tool: 'cargo',
      },
      { message: 'c++: fatal error: Killed signal terminated program cc1plus' },
      { message: 'collect2: fatal error: ld terminated with signal 9 [Killed]' },
    ],
  },
  {
    name: 'PHPUnit: failures and errors, not risky or skipped tests',
    log: `
1) numbered lines before any list are not failures
There were 2 failures:

1) Tests\\OrderTest::testShipsToEu with data set "de" ('DE', 1)
Failed asserting that false is true.

/home/runner/work/shop/shop/tests/OrderTest.php:41

2) Tests\\OrderTest::testTotal
Failed asserting that 9.99 matches expected 10.0.

/home/runner/work/shop/shop/tests/OrderTest.php:58

--

There was 1 skipped test:

1) Tests\\MailTest::testSmtp
SMTP server not configured

FAILURES!
Tests: 12, Assertions: 30, Failures: 2, Skipped: 1.`,
    expected: [
      {
        message:
          'Tests\\OrderTest::testShipsToEu with data set "de" (\'DE\', 1): Failed asserting that false is true.',
        tool: 'phpunit',
      },
      {
        message: 'Tests\\OrderTest::testTotal: Failed asserting that 9.99 matches expected 10.0.',
        tool: 'phpunit',
      },
    ],
  },
  {
    name: 'PHPUnit summary kept when no failure is listed',
    log: `
ERRORS!
Tests: 3, Assertions: 3, Errors: 1.`,
    expected: [{ message: 'Tests: 3, Assertions: 3, Errors: 1.', tool: 'phpunit' }],
  },
  {
    name: 'Playwright: the failure list, and the progress lines it explains',
    log: `
  ✘  7 [webkit] › auth/login.spec.ts:22:5 › login › remembers the user (retry #1) (12.4s)
  1) [webkit] › auth/login.spec.ts:22:5 › login › remembers the user ─────────────────────────────

    Error: expect(page).toHaveURL(expected) failed

        at /home/runner/work/web/web/tests/auth/login.spec.ts:29:24

  2) tests/cart.spec.ts:8:3 › adds an item ──────────────────────

    Test timeout of 30000ms exceeded.

  2 failed`,
    expected: [
      {
        message: 'login › remembers the user: Error: expect(page).toHaveURL(expected) failed',
        tool: 'playwright',
      },
      { message: 'adds an item: Test timeout of 30000ms exceeded.', tool: 'playwright' },
    ],
  },
  {
    name: 'Playwright progress lines alone',
    log: `
  ✘  3 [chromium] › home.spec.ts:5:5 › home › renders (1.2m)
  ✓  4 [chromium] › home.spec.ts:9:5 › home › links (812ms)`,
    expected: [{ message: 'home › renders', tool: 'playwright' }],
  },
  {
    name: 'jest: console output is never an error, even when it looks like one',
    log: `
 PASS  src/api.test.ts
  ● Console

    console.error
      Error: boom
          at fetchUser (src/api.ts:3:9)

TypeError: thrown at column 0 inside the console block ends it
 FAIL  src/b.test.ts
  ● b › works

    expect(received).toBe(expected)`,
    expected: [
      { message: 'TypeError: thrown at column 0 inside the console block ends it' },
      { message: 'b › works: expect(received).toBe(expected)', tool: 'jest' },
    ],
  },
  {
    name: 'go panics: in a named test, in go test without a name, and in a program',
    log: `
--- FAIL: TestCache (0.00s)
panic: assignment to entry in nil map [recovered]
\tpanic: assignment to entry in nil map

goroutine 7 [running]:
testing.tRunner.func1.2({0x5d1e40, 0x6a2b10})
\t/opt/hostedtoolcache/go/1.22.5/x64/src/testing/testing.go:1631 +0x24a
example.com/cache.TestCache(0xc000007860)
\t/home/runner/work/cache/cache/cache_test.go:14 +0x3c
FAIL\texample.com/cache\t0.012s
panic: runtime error: index out of range [5] with length 5

goroutine 21 [running]:
testing.tRunner(0xc0001b4340, 0x75e9c8)
\t/opt/hostedtoolcache/go/1.22.5/x64/src/testing/testing.go:1689 +0xfb
FAIL\texample.com/cache/lru\t0.004s
panic: open config.yaml: no such file or directory

goroutine 1 [running]:
main.main()
\t/home/runner/work/cache/cache/cmd/gen/main.go:21 +0x1d4
exit status 2`,
    expected: [
      { message: 'TestCache: panic: assignment to entry in nil map', tool: 'go test' },
      { message: 'FAIL example.com/cache 0.012s', tool: 'go test', generic: true },
      { message: 'panic: runtime error: index out of range [5] with length 5', tool: 'go test' },
      { message: 'FAIL example.com/cache/lru 0.004s', tool: 'go test', generic: true },
      { message: 'panic: open config.yaml: no such file or directory', tool: 'go' },
    ],
  },
  {
    name: 'bundlers: vite, rollup and esbuild, not yarn',
    log: `
error during build:
RollupError: [vite]: Rollup failed to resolve import "lodash-es" from "/home/runner/work/ui/ui/src/util.ts".
This is most likely unintended because it can break your application at runtime.
    at viteLog (file:///home/runner/work/ui/ui/node_modules/vite/dist/node/chunks/dep.js:51557:15)
error Command failed with exit code 1.
error during build: Error: [vite:css] Unclosed block
error during build:
[vite:esbuild] Transform failed with 1 error:
src/a.ts:1:4: ERROR: Unexpected "}"

[!] RollupError: Could not resolve './missing' from src/index.js
src/index.js

✘ [ERROR] Could not resolve "react-dom/client"

    src/main.tsx:2:23:
      2 │ import { createRoot } from "react-dom/client";
        ╵                            ~~~~~~~~~~~~~~~~~~
`,
    expected: [
      {
        message:
          'RollupError: [vite]: Rollup failed to resolve import "lodash-es" from "src/util.ts".',
        tool: 'vite',
      },
      { message: 'Command failed with exit code 1.', tool: 'yarn', generic: true },
      { message: 'Error: [vite:css] Unclosed block', tool: 'vite' },
      {
        message:
          '[vite:esbuild] Transform failed with 1 error: src/a.ts:1:4: ERROR: Unexpected "}"',
        tool: 'vite',
      },
      { message: "RollupError: Could not resolve './missing' from src/index.js", tool: 'rollup' },
      { message: 'Could not resolve "react-dom/client"', tool: 'esbuild' },
    ],
  },
];

for (const c of CASES) {
  t.test(c.name, async (t) => {
    const expected = c.expected.map((e) => ({
      message: e.message,
      tool: e.tool,
      generic: e.generic ?? false,
    }));
    t.same(summary(extractErrors(text(c.log))), expected);
  });
}

t.test('blocks carry their lines, start line and references', async (t) => {
  const lines = text(`
noise
  ● sum › adds

    expect(received).toBe(expected)

      at Object.toBe (src/sum.test.js:6:23)
      at Object.toBe (src/sum.test.js:6:23)
      at node_modules/jest-circus/build/utils.js:298:28
after`);
  const [block] = extractErrors(lines);
  t.equal(block?.startLine, 1);
  t.equal(block?.lines.length, 7);
  t.same(block?.references, [{ file: 'src/sum.test.js', line: 6, column: 23 }]);
});

t.test('eslint errors point at the file named above them', async (t) => {
  const blocks = extractErrors(
    text(`
src/a.js
  1:1  error  bad  rule-a
src/b.js
  2:3  error  bad  rule-a
  4:5  error  no rule column`),
  );
  t.same(
    blocks.map((b) => b.references),
    [
      [{ file: 'src/a.js', line: 1, column: 1 }],
      [{ file: 'src/b.js', line: 2, column: 3 }],
      [{ file: 'src/b.js', line: 4, column: 5 }],
    ],
  );
  t.same(
    blocks.map((b) => b.message),
    ['bad (rule-a)', 'bad (rule-a)', 'no rule column'],
  );
  t.same(extractErrors(['  1:1  error  no file above  rule'])[0]?.references, []);
});

t.test('prettier references only source files', async (t) => {
  const [block] = extractErrors([
    '[warn] src/a.ts',
    '[warn] notes',
    '[warn] Code style issues found in 2 files.',
  ]);
  t.same(block?.references, [{ file: 'src/a.ts' }]);
  t.equal(block?.startLine, 0);
});

t.test('repeated reports and annotations are counted once', async (t) => {
  const blocks = extractErrors(
    text(`
  ● sum › adds

    expect(received).toBe(expected)

      at Object.toBe (src/sum.test.js:6:23)

Summary of all failing tests
  ● sum › adds

    expect(received).toBe(expected)

      at Object.toBe (src/sum.test.js:6:23)

##[error]expect(received).toBe(expected)
##[error]short`),
  );
  t.same(
    blocks.map((b) => b.message),
    ['sum › adds: expect(received).toBe(expected)', 'short'],
  );
});

t.test('messages are single lines and capped', async (t) => {
  const [block] = extractErrors([`Error: ${'word '.repeat(200)}`]);
  t.ok(block && block.message.length <= 300);
  t.ok(block?.message.endsWith('…'));
});

t.test('blocks keep at most MAX_BLOCK_LINES lines', async (t) => {
  const lines = ['  ● long', ...Array.from({ length: 70 }, (_, i) => `    line ${i}`)];
  t.equal(extractErrors(lines)[0]?.lines.length, MAX_BLOCK_LINES);
});

t.test('at most MAX_BLOCKS blocks are kept', async (t) => {
  const lines = Array.from(
    { length: MAX_BLOCKS + 50 },
    (_, i) => `src/a.go:${i + 1}:1: undefined: x${i}`,
  );
  t.equal(extractErrors(lines).length, MAX_BLOCKS);
});

t.test('no lines, no blocks', async (t) => {
  t.same(extractErrors([]), []);
  t.same(extractErrors(['all good', '', 'PASS src/a.test.ts']), []);
});

t.test('stays fast on hostile lines', async (t) => {
  const hostile = [
    '_'.repeat(2000),
    '___ ' + '_ '.repeat(900) + '___',
    'FAILED ' + '.py'.repeat(600),
    '    ' + '_test.go'.repeat(240),
    'error[E0308]: ' + 'x'.repeat(1980),
    '1 Killed'.repeat(250),
    '9'.repeat(2000),
    'a:1'.repeat(660),
    '[ERROR] ' + '.java'.repeat(390),
    'TypeErrorError'.repeat(140),
    '  1:1  error' + ' '.repeat(1980),
    'x('.repeat(1000),
    'Because ' + 'x '.repeat(990),
    '  Because ' + 'so, because '.repeat(160),
    '  1) [' + 'a'.repeat(1990),
    '  1) ' + 'a:1'.repeat(660),
    '  ✘  1 ' + '[x] › '.repeat(300),
    'panic: ' + '('.repeat(1990),
    'diff --git a/' + 'a/'.repeat(990),
    'There were 1 ' + 'a '.repeat(990),
    '# [' + '['.repeat(1990),
    'error during build: ' + ' '.repeat(1980),
    "  process didn't exit successfully: " + '`(signal: 9'.repeat(150),
    'E: ' + 'A'.repeat(1990),
    '1) ' + 'x'.repeat(1990),
  ];
  for (const line of hostile) t.type(extractErrors(Array(500).fill(line)), Array);
});
