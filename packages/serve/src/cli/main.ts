// The `tray serve` process (@tray/serve's ./cli export): @tray/cli finds this file with
// require.resolve when @tray/serve is installed and runs it with the rest of the command line,
// the cluster's address in TRAY_ADDRESS and its token in TRAY_TOKEN. Exit codes as tray's: 0
// done, 1 failed (the message on stderr), 2 a usage error (with the usage).
import { ServeConfigError } from '../config/deploy-schema.js';
import { buildCommand, CliUsageError, deployCommand, shutdownCommand, statusCommand } from './commands.js';

export const SERVE_USAGE = `tray serve deploy CONFIG.yaml [--address HOST:PORT]
  Deploys the applications of a serve config file (Ray's schema, snake_case or camelCase) and
  returns; they keep running in the cluster. Applications the file does not list are deleted.
tray serve status [--address HOST:PORT]
  Prints the proxies and the applications with their deployments' states (YAML, Ray's shape).
tray serve shutdown [--address HOST:PORT] [-y]
  Deletes every application and stops the proxies and the controller.
tray serve build path/to/app.mjs:exportName ... [-o config.yaml]
  Writes a config file for the applications the import paths name, to edit and deploy.
`;

const COMMANDS: Record<string, (argv: string[], out: NodeJS.WritableStream) => Promise<number>> = {
  deploy: deployCommand,
  status: statusCommand,
  shutdown: shutdownCommand,
  build: buildCommand,
};

export async function runServeCli(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? err : out).write(SERVE_USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    err.write(`tray serve: unknown command '${name}'\n${SERVE_USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.write(SERVE_USAGE);
    return 0;
  }
  try {
    return await command(rest, out);
  } catch (error) {
    if (error instanceof CliUsageError) {
      err.write(`tray serve ${name}: ${error.message}\n${SERVE_USAGE}`);
      return 2;
    }
    const message = error instanceof ServeConfigError ? error.message : (error as Error).message;
    err.write(`tray serve ${name}: ${message}\n`);
    return 1;
  }
}

const code = await runServeCli(process.argv.slice(2));
// Exit now: the driver's handles and timers must not keep the process open after the answer.
process.exit(code);
