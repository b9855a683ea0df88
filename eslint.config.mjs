// ESLint flat config: Next.js' rules (core web vitals, React, React hooks, jsx-a11y, import)
// and typescript-eslint's recommended rules, over everything that ships or tests it.
import { defineConfig, globalIgnores } from 'eslint/config';
import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';

export default defineConfig([
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      // `const { secret: _secret, ...rest } = row` is how we omit a field: the rest is the point.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // Playwright fixtures hand their value to the test through a callback named `use`, which the
    // hooks rule takes for React's `use()`; the journeys hold no React code.
    files: ['e2e/**'],
    rules: { 'react-hooks/rules-of-hooks': 'off' },
  },
  globalIgnores(['.next/**', '.next-e2e/**', '.next-bench/**', '.local/**', 'test-results/**', 'playwright-report/**', 'next-env.d.ts']),
]);
