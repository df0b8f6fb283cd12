#!/usr/bin/env node
// The `tray` command as npm links it. It is committed, not built, because npm links a bin only
// if its file exists at install time: in a fresh clone `npm ci` runs before `npm run build`, and
// a bin pointing into dist/ would not be linked (then `npx tray` asks the registry). It runs the
// built command line, dist/bin.js, and says how to build it when that is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(
    `tray: @tray/cli is not built yet (${fileURLToPath(built)} is missing): run \`npm run build\` at the repository root\n`,
  );
  process.exit(1);
}
await import(built.href);
