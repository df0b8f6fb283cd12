#!/usr/bin/env node
// The `nx-release-publish` target of every @tray package (nx's own comes with the @nx/js
// plugin, which this repository does not use): `npm publish` of the package in the current
// directory, as `nx release publish` asks — with --dry-run when the release is a dry run (CI
// runs `npm run release-check`), a dist-tag, a registry and an OTP when given. npm publish
// runs the package's prepack (object-store stages its prebuild and C++ source).
//   node ../../tools/release/publish.mjs [--dryRun[=true]] [--tag=T] [--registry=URL] [--otp=N]
import { spawnSync } from 'node:child_process';

const options = {};
for (const arg of process.argv.slice(2)) {
  const match = /^--([^=]+)(?:=(.*))?$/.exec(arg);
  if (match) options[match[1]] = match[2] ?? 'true';
}
const args = ['publish', '--access', 'public'];
// A dry run lists each tarball's files at notice level; warnings and errors are what matter.
if (options.dryRun === 'true' || options['dry-run'] === 'true') args.push('--dry-run', '--loglevel', 'warn');
if (options.tag) args.push('--tag', options.tag);
if (options.registry) args.push('--registry', options.registry);
if (options.otp) args.push('--otp', options.otp);
console.log(`> npm ${args.join(' ')}   (${process.cwd()})`);
const result = spawnSync('npm', args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
