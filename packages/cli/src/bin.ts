// The `tray` executable: runs the command line and exits with its code. Output is flushed by
// letting the loop drain; a handle left open by a library (a cluster client, say) cannot keep
// a finished command alive for more than a few seconds.
import { runCli } from './cli.js';

function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 3000).unref();
}

runCli(process.argv.slice(2)).then(finish, (error: Error) => {
  process.stderr.write(`tray: ${error.stack ?? error.message}\n`);
  finish(1);
});
