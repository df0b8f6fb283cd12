#!/usr/bin/env node
// Reads the output of `npm test` (turbo running every package's vitest, plus ctest) on stdin
// and prints one closing line for the whole repository: `tests: N passed, N failed`.
import { readFileSync } from 'node:fs';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what it strips
const text = readFileSync(0, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const line of text.split('\n')) {
  // vitest: "      Tests  21 passed | 1 failed | 2 skipped (24)"
  const vitest = line.match(/\bTests\s+(.*)\(\d+\)\s*$/);
  if (vitest) {
    passed += Number(vitest[1].match(/(\d+) passed/)?.[1] ?? 0);
    failed += Number(vitest[1].match(/(\d+) failed/)?.[1] ?? 0);
    skipped += Number(vitest[1].match(/(\d+) skipped/)?.[1] ?? 0);
    continue;
  }
  // ctest: "100% tests passed, 0 tests failed out of 4"
  const ctest = line.match(/tests passed, (\d+) tests failed out of (\d+)/);
  if (ctest) {
    failed += Number(ctest[1]);
    passed += Number(ctest[2]) - Number(ctest[1]);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
