/**
 * The import rules of docs/architecture.md, "The layers" (the "May import" column), for dependency-cruiser:
 * `npm run lint:deps` (part of `npm run lint`) fails on an import the table does not allow.
 *
 * One entry of LAYERS per row of the table: a new folder is one entry. `mayImport` lists the project's paths
 * the folder may import besides itself; `packages`, where the row names packages, the only npm packages it
 * may import (a row that names none restricts the project's folders only); `builtins`, where given, the only
 * Node built-in modules it may import. `shipped` folders never import the tools or the tests.
 * Type-only imports count: a layer that names another's types depends on it.
 *
 * EXCEPTIONS are imports the code makes that the table does not allow, each named by file so the rule still
 * holds for every other file; remove an entry when the code or the table changes. There are none: an entry is
 * a debt to pay, not a way to pass the check.
 */

const AWS_SDK = ['@aws-sdk/', '@smithy/'];
const POWERTOOLS = ['@aws-lambda-powertools/'];
// Lambda's event and context types (type-only): the shapes of AWS's own calls into the function.
const LAMBDA_TYPES = ['@types/aws-lambda/'];

const LAYERS = [
  { name: 'bin', path: 'bin/', mayImport: ['infra/'], shipped: true },
  {
    name: 'infra',
    path: 'infra/',
    // The functions' settings modules: each construct writes its function's environment with the function's own
    // `…Environment(values)` (docs/architecture.md, "Settings"), so both sides compile against one declaration.
    // The API's route table: the client role may invoke exactly the routes a client session may call.
    // The history store's table schema: the table is created with the keys and TTL its items are written with.
    mayImport: [
      'lambdas/domain/',
      'lambdas/lake/',
      'lambdas/filter-enrich/settings.ts',
      'lambdas/history-api/settings.ts',
      'lambdas/history-api/api-routes.ts',
      'lambdas/history-store/table-schema.ts',
    ],
    packages: ['aws-cdk-lib/', 'constructs/', 'cdk-nag/'],
    shipped: true,
  },
  // A row of its own: what a deployment promises its tools, from the lake schema alone.
  {
    name: 'infra-contract',
    path: 'infra/contract.ts',
    mayImport: ['lambdas/domain/lake-schema.ts', 'lambdas/domain/metrics.ts', 'lambdas/domain/profile-id.ts'],
    self: false,
  },
  // Pure computation only: ajv validates the event schema, node:crypto hashes (impression identity, cursor
  // signing); no I/O, no AWS.
  {
    name: 'domain',
    path: 'lambdas/domain/',
    mayImport: [],
    packages: ['ajv/'],
    builtins: ['crypto'],
    shipped: true,
  },
  {
    name: 'adapters',
    path: 'lambdas/adapters/',
    mayImport: ['lambdas/domain/'],
    // aws-kinesis-agg: the KPL's aggregate format, written and read at the Kinesis edge.
    packages: [...AWS_SDK, ...POWERTOOLS, ...LAMBDA_TYPES, 'aws-kinesis-agg/'],
    shipped: true,
  },
  // The history store, one module: its rules from the domain, its calls through the adapters' retry layer.
  {
    name: 'history-store',
    path: 'lambdas/history-store/',
    mayImport: ['lambdas/domain/', 'lambdas/adapters/'],
    packages: [...AWS_SDK, ...POWERTOOLS],
    shipped: true,
  },
  // The lake's catalog side: the DDL and the catalogs' type spellings, from the domain's table definitions.
  { name: 'lake', path: 'lambdas/lake/', mayImport: ['lambdas/domain/'], packages: [], shipped: true },
  // Each function's folder (lambdas/<function>/); itself is its own folder, not another function's. The
  // history store only through its interface (index.ts).
  {
    name: 'handlers',
    path: 'lambdas/(?!domain/|adapters/|history-store/|lake/)([^/]+)/',
    self: 'lambdas/$1/',
    mayImport: ['lambdas/domain/', 'lambdas/adapters/', 'lambdas/history-store/index.ts', 'lambdas/lake/'],
    shipped: true,
  },
  {
    name: 'client',
    path: 'client/',
    mayImport: [],
    // The signing packages, and the types the signer's interfaces are declared with.
    packages: [
      '@smithy/signature-v4/',
      '@aws-crypto/sha256-js/',
      '@aws-sdk/credential-providers/',
      '@smithy/types/',
    ],
    shipped: true,
  },
  // Local development (the emulator, npm start, the load generator, the lake stand-in): not shipped, so it may
  // reuse everything that is.
  { name: 'scripts', path: 'scripts/', mayImport: ['ops/', 'infra/', 'lambdas/', 'client/'] },
  // The operator CLI (shipped): the stacks' code, the functions' code and the client, never the tools or tests.
  { name: 'ops', path: 'ops/', mayImport: ['infra/', 'lambdas/', 'client/'], shipped: true },
  // The benchmarks measure the shipped code and the local tools, through the in-memory DynamoDB the tests trust
  // (it refuses and bills as the service does) and the exact-count oracle that checks the answers they time.
  {
    name: 'bench',
    path: 'bench/',
    mayImport: [
      'ops/',
      'infra/',
      'lambdas/',
      'client/',
      'scripts/',
      'test/support/memory-aws.ts',
      'test/support/oracles.ts',
    ],
  },
  // test/ may import everything.
];

/** Imports the table does not allow, made today: [file, what it imports (a path prefix), why]. */
/** @type {ReadonlyArray<readonly [string, string, string]>} */
const EXCEPTIONS = [];

const CORE = ['core'];
const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'];
const escapeDots = (path) => path.replace(/\./g, '\\.');

/**
 * The rules for the tree at `root` ('' for the repository; test/infra/dependency-rules.test.ts checks them
 * on a small tree of violations under test/fixtures/).
 */
function forbiddenAt(root, exceptions) {
  const re = (prefix) => `^${prefix.startsWith('node_modules/') ? '' : root}${escapeDots(prefix)}`;
  const at = (path) => `^${root}${path}`;
  const shipped = LAYERS.filter((l) => l.shipped);
  return [
    ...LAYERS.flatMap((layer) => layerRules(layer, exceptions, re, at)),
    {
      name: 'shipped-not-tools',
      comment: 'What is shipped never imports the tools, the benchmarks or the tests',
      severity: 'error',
      from: { path: at(`(${shipped.map((l) => l.path).join('|')})`) },
      to: { path: at('(scripts|bench|test)/') },
    },
    {
      name: 'no-circular-lambdas',
      comment: 'No import cycle in the functions’ code',
      severity: 'error',
      from: { path: at('lambdas/') },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing cannot be checked',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ];
}

/** The rules of one layer: one for its files without exceptions, one per file with exceptions. */
function layerRules(layer, exceptions, re, at) {
  const from = at(layer.path);
  const own = layer.self === false ? [] : [layer.self ? at(layer.self) : from];
  const allowed = [...own, ...layer.mayImport.map(re)];
  const excepted = [
    ...new Set(exceptions.filter(([f]) => new RegExp(`^${layer.path}`).test(f)).map(([f]) => f)),
  ];
  const rules = (name, fromRule, extra) => {
    const project = extra.filter((t) => !t.startsWith('node_modules/')).map(re);
    const pkgs = extra.filter((t) => t.startsWith('node_modules/')).map(re);
    const out = [
      {
        name: `${layer.name}-imports`,
        comment: `${layer.path}: may import ${layer.mayImport.join(', ') || 'nothing of the project'} besides itself (docs/architecture.md, "The layers")${name}`,
        severity: 'error',
        from: fromRule,
        to: {
          path: '^[^/]+/',
          pathNot: ['^node_modules/', ...allowed, ...project],
          dependencyTypesNot: CORE,
        },
      },
    ];
    if (layer.packages)
      out.push({
        name: `${layer.name}-packages`,
        comment: `${layer.path}: may import only the packages ${layer.packages.join(', ') || '(none)'}${name}`,
        severity: 'error',
        from: fromRule,
        to: {
          dependencyTypes: NPM,
          pathNot: [...layer.packages.map((p) => re(`node_modules/${p}`)), ...pkgs],
        },
      });
    if (layer.builtins)
      out.push({
        name: `${layer.name}-builtins`,
        comment: `${layer.path}: of Node's built-in modules only ${layer.builtins.join(', ') || '(none)'}${name}`,
        severity: 'error',
        from: fromRule,
        to: {
          dependencyTypes: CORE,
          pathNot: [...layer.builtins, ...extra.filter((t) => !t.includes('/'))].map((t) => `^${t}$`),
        },
      });
    return out;
  };
  return [
    ...rules('', { path: from, pathNot: excepted.map((f) => `${re(f)}$`) }, []),
    ...excepted.flatMap((f) =>
      rules(
        ` (exception for ${f}: see EXCEPTIONS)`,
        { path: `${re(f)}$` },
        exceptions.filter(([g]) => g === f).map(([, t]) => t),
      ),
    ),
  ];
}

const config = {
  forbidden: forbiddenAt('', EXCEPTIONS),
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // node_modules may be a link to another checkout's: keep its paths under node_modules/.
    preserveSymlinks: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

// For test/infra/dependency-rules.test.ts, not part of dependency-cruiser's configuration (not enumerable):
// the exceptions (each must still be an import the code makes) and the rules for a tree elsewhere.
Object.defineProperty(config, 'exceptions', { value: EXCEPTIONS, enumerable: false });
Object.defineProperty(config, 'forbiddenAt', { value: forbiddenAt, enumerable: false });
module.exports = config;
