// Lint (`npm run lint`): neostandard, i.e. standard's style (no semicolons, a space before
// function parentheses, single quotes) for TypeScript, plus a few type-aware rules that
// catch real bugs in this codebase's kind of code (promises left floating, a switch that
// forgets a case, casts that do nothing). Why each rule is on or off: /work/notes/LINT.md
// at the time of writing, and the comments here.
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({
    ts: true,
    ignores: [...resolveIgnoresFromGitignore(), 'bench/results/**']
  }),
  {
    rules: {
      // `void promise` is how this code says "fire and forget, on purpose" (timers, fastify's
      // chainable reply.code()); the type-aware no-floating-promises below needs that idiom.
      'no-void': ['error', { allowAsStatement: true }],
      // Flags `while (running)` loops whose flag another async function clears: the rule
      // cannot see across closures, so every hit here is a false positive.
      'no-unmodified-loop-condition': 'off'
    }
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // tap's t.test() returns a promise that tap itself awaits: not floating.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: 'test', package: '@tapjs/test' }, { from: 'package', name: 'test', package: 'tap' }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/strict-boolean-expressions': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }]
    }
  },
  {
    // Grafana variables (`${datasource}`) and config interpolation (`${ENV}`) are test data.
    files: ['test/**/*.ts'],
    rules: { 'no-template-curly-in-string': 'off' }
  }
]
