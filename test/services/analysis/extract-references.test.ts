import t from 'tap';
import {
  extractReferences,
  stripWorkspace,
  toRepositoryPath,
} from '../../../src/services/analysis/extract-references.ts';

t.test('reads the location formats of common tools', async (t) => {
  const cases: [string, ReturnType<typeof extractReferences>][] = [
    ['src/a.ts:3:5 - error TS2322: nope', [{ file: 'src/a.ts', line: 3, column: 5 }]],
    ['src/a.ts(3,5): error TS2322: nope', [{ file: 'src/a.ts', line: 3, column: 5 }]],
    ['  --> src/main.rs:4:18', [{ file: 'src/main.rs', line: 4, column: 18 }]],
    ['tests/test_x.py:31: AssertionError', [{ file: 'tests/test_x.py', line: 31 }]],
    [
      '  File "/home/runner/work/app/app/app/main.py", line 12, in <module>',
      [{ file: 'app/main.py', line: 12 }],
    ],
    [
      '[ERROR] /home/runner/work/p/p/src/A.java:[58,25] cannot find symbol',
      [{ file: 'src/A.java', line: 58, column: 25 }],
    ],
    [
      '    at Object.<anonymous> (src/sum.test.js:6:23)',
      [{ file: 'src/sum.test.js', line: 6, column: 23 }],
    ],
    [
      '    at TestContext.<anonymous> (file:///home/runner/work/d/d/test/p.test.js:14:12)',
      [{ file: 'test/p.test.js', line: 14, column: 12 }],
    ],
    [
      'D:\\a\\app\\app\\src\\Program.cs(12,5): error CS1002',
      [{ file: 'src/Program.cs', line: 12, column: 5 }],
    ],
    [
      '/Users/runner/work/app/app/Sources/App.swift:9:3: error',
      [{ file: 'Sources/App.swift', line: 9, column: 3 }],
    ],
    ['/__w/app/app/lib/x.rb:7: syntax error', [{ file: 'lib/x.rb', line: 7 }]],
    ['./app/views.py:12:1: F401 unused', [{ file: 'app/views.py', line: 12, column: 1 }]],
    [
      '    at com.acme.OrderTest.rejects(OrderTest.java:47)',
      [{ file: 'OrderTest.java', line: 47 }],
    ],
  ];
  for (const [line, expected] of cases) t.same(extractReferences(line), expected, line);
});

t.test('finds several locations on one line', async (t) => {
  t.same(extractReferences('a.go:1:2 and b.go:3 and c.go:4:5'), [
    { file: 'a.go', line: 1, column: 2 },
    { file: 'b.go', line: 3 },
    { file: 'c.go', line: 4, column: 5 },
  ]);
});

t.test('drops dependencies, toolchains, runtimes and things that are not files', async (t) => {
  const ignored = [
    '    at Object.<anonymous> (/home/runner/work/a/a/node_modules/jest-circus/build/utils.js:298:28)',
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '  File "/opt/hostedtoolcache/Python/3.12.3/x64/lib/python3.12/site-packages/_pytest/python.py", line 194, in f',
    '/opt/hostedtoolcache/go/1.22.3/x64/src/testing/testing.go:1689 +0x21f',
    '    at org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:152)',
    '    at java.base/java.lang.reflect.Method.invoke(Method.java:580)',
    'connect ETIMEDOUT registry.npmjs.org:443',
    'listening on 127.0.0.1:8080',
    'at 12:30:45 the job started',
    'see https://example.com/docs/page.html:12',
    'main.c:(.text+0x1b4): undefined reference',
    'script.sh: line 1: 2290 Killed',
    'file(abc)',
    'x.ts(3,a)',
    'x.ts(3,5]',
    'x.ts:[1,2)',
    'x.ts:[1;2]',
    'x.ts(3',
    'x.ts:',
    '.eslintrc:3:1',
  ];
  for (const line of ignored) t.same(extractReferences(line), [], line);
});

t.test('toRepositoryPath normalises paths and rejects what is not source', async (t) => {
  t.equal(toRepositoryPath('./src/a.ts'), 'src/a.ts');
  t.equal(toRepositoryPath('/home/runner/work/app/app/src/a.ts'), 'src/a.ts');
  t.equal(toRepositoryPath('file:///home/runner/work/app/app/src/a.ts'), 'src/a.ts');
  t.equal(toRepositoryPath('C:\\a\\app\\app\\src\\A.CS'), 'src/A.CS');
  t.equal(toRepositoryPath('README'), undefined);
  t.equal(toRepositoryPath('archive.tar.gz'), undefined);
  t.equal(toRepositoryPath('/home/runner/work/app/app/node_modules/x/index.js'), undefined);
  t.equal(toRepositoryPath(''), undefined);
});

t.test('stripWorkspace shortens checkout paths inside messages', async (t) => {
  t.equal(
    stripWorkspace('/home/runner/work/geo/geo/src/hull.cpp:41:12: error: x'),
    'src/hull.cpp:41:12: error: x',
  );
  t.equal(
    stripWorkspace('e: file:///home/runner/work/app/app/src/Main.kt:3:5 Unresolved'),
    'e: src/Main.kt:3:5 Unresolved',
  );
  t.equal(stripWorkspace('D:\\a\\app\\app\\src\\Program.cs(1,2)'), 'src\\Program.cs(1,2)');
  t.equal(stripWorkspace('no paths here'), 'no paths here');
});

t.test('stays linear on hostile lines', async (t) => {
  const n = 200_000;
  for (const line of [
    'a/b.'.repeat(n / 4),
    'a:1'.repeat(n / 3),
    '1:'.repeat(n / 2),
    'a('.repeat(n / 2),
    'File "'.repeat(n / 6),
  ]) {
    t.type(extractReferences(line), Array);
  }
});
