// Runs one `tray` command line: dispatches to the command, turns a UsageError into the usage text
// and exit code 2, and any other failure into its message and exit code 1.
import { job } from './commands/job.js';
import { memory } from './commands/memory.js';
import { metrics } from './commands/metrics.js';
import { microbenchmark } from './commands/microbenchmark.js';
import { serve } from './commands/serve.js';
import { start } from './commands/start.js';
import { get, list, logs, summary, timeline } from './commands/state.js';
import { status } from './commands/status.js';
import { stop } from './commands/stop.js';
import { isCommand, usage } from './usage.js';
import { UsageError } from './usage-error.js';

type Command = (argv: string[], out: NodeJS.WritableStream) => Promise<number>;

const run: Record<string, Command> = {
  start,
  stop,
  status,
  job,
  microbenchmark,
  metrics,
  list,
  get,
  summary,
  logs,
  timeline,
  memory,
  serve,
};

export async function runCli(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? err : out).write(usage());
    return name === undefined ? 2 : 0;
  }
  if (!isCommand(name)) {
    err.write(`tray: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    out.write(usage(name));
    return 0;
  }
  try {
    return await run[name](rest, out);
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`tray ${name}: ${error.message}\n${usage(error.command || name)}`);
      return 2;
    }
    err.write(`tray ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
