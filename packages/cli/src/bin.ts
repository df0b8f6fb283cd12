// The `tray` executable: runs the command line and exits with its code once output is flushed.
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`tray: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
