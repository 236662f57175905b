#!/usr/bin/env node
// The `porthole` bin (docs/cli.md "Running it"). In a git checkout it runs the TypeScript source
// (src/cli/main.ts) with Node's type stripping, so `npx porthole …` works right after `npm install`
// (npx puts the `node` devDependency, Node 24, first on PATH). An installed package has no src/ and
// runs the build in dist/ (made by `npm pack` / `npm publish` through the prepack script).
import { existsSync } from 'node:fs';
import module from 'node:module';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);
// Node does not strip types under node_modules: there, only dist/ can run.
const canRunSource =
  existsSync(source) && process.features.typescript && !source.pathname.includes('/node_modules/');

// Node's compile cache (in the OS temp folder; NODE_DISABLE_COMPILE_CACHE=1 turns it off) keeps the
// compiled and type-stripped modules, which halves the start-up of every porthole process.
module.enableCompileCache?.();
if (canRunSource) await import(source.href);
else if (existsSync(built)) await import(built.href);
else {
  process.stderr.write(
    `porthole: cannot start: Node ${process.versions.node} cannot run the TypeScript source here and ` +
      'dist/ is not built; run it with Node >= 22.18 (`npx porthole` in the checkout), or `npm run build` first\n',
  );
  process.exitCode = 2;
}
