// The layers of docs/architecture.md, enforced: who may import whom (import-x/no-restricted-paths), which code may
// touch Node or Electron, plus typescript-eslint's and eslint-plugin-vue's recommended rules. `npm test` runs it.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const layerZones = [
  { target: './common', from: ['./main', './renderer', './preload', './training'], message: 'common/ is shared by every process: it imports nothing of main/, renderer/ or preload/.' },
  { target: './renderer', from: ['./main', './preload', './training', './bench', './test'], message: 'the renderer talks to the main process through the contract only: import common/, not main/.' },
  { target: './preload', from: ['./main', './renderer'], message: 'the preload exposes the contract (common/) and nothing else.' },
  {
    target: './main/!(app|cli|transport)/**/*',
    from: './main/transport/**/*',
    message: 'domains never import a transport: they export handlers from service.ts; app/ and cli/ serve them.',
  },
  { target: './main/!(app)/**/*', from: './main/app/**/*', message: 'main/app is the Electron shell; nothing imports it (shared security data lives in main/security).' },
  {
    target: './main/db/**/*',
    from: './main/!(db)/**/*',
    message: 'db/ stores what it is given and imports no domain (parsing, probing and the like belong to the domain).',
  },
  {
    target: './main/!(imaging)/**/*',
    from: './main/imaging',
    except: ['./index.ts', './decode-tasks.ts'],
    message: "other domains use the imaging domain through main/imaging/index.ts (the worker script may register its tasks from decode-tasks.ts).",
  },
];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'training/**', 'resources/**', 'models/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  {
    files: ['**/*.{ts,mts,vue}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver': { node: { extensions: ['.ts', '.mts', '.vue', '.js', '.json'] } },
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'only main/app (the Electron shell) and preload/ import electron.' }] }],
    },
  },
  {
    // common/ and the renderer run outside Node: no Node built-ins.
    files: ['common/**/*.ts', 'renderer/**/*.{ts,vue}'],
    plugins: { 'import-x': importX },
    rules: { 'import-x/no-nodejs-modules': 'error' },
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['main/app/**/*.ts', 'preload/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['main/**/*.ts', 'preload/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', '*.config.{ts,mts}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests mock loosely-typed boundaries (Electron objects, fetch bodies) on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Vue's recommended formatting rules fight the project's one-line attribute style; keep the correctness ones.
    files: ['**/*.vue'],
    rules: {
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/attributes-order': 'off',
      'vue/first-attribute-linebreak': 'off',
    },
  },
);
