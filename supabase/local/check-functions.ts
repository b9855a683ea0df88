import path from 'node:path';
import { checkFunction, functionNames } from './gateway/functions/index.ts';
import { repoRoot } from './config.ts';

/**
 * `npm run check:functions`: every edge function type-checked by Deno (the runtime that deploys
 * it), with the function's own deno.json and lockfile. Exit code 1 on any error.
 */
let failed = 0;
for (const name of functionNames()) {
  const started = Date.now();
  const result = await checkFunction(name, undefined, (line) => console.log(line));
  const files = result.files.map((f) => path.relative(repoRoot, f));
  if (result.ok) {
    console.log(`deno check ${name}: ok, ${files.length} files in ${Date.now() - started} ms`);
  } else {
    failed += 1;
    console.error(`deno check ${name}: FAILED\n${result.output}`);
  }
}
process.exit(failed ? 1 : 0);
