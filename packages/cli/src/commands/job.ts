// `tray job submit|status|logs|stop|list|delete`: Ray's `ray job` over the dashboard's Jobs API
// (JobSubmissionClient). `submit` follows the job's log until it ends and exits 0 if it
// SUCCEEDED, else with the entrypoint's exit code (1 when it has none: stopped, killed, never
// started); --no-wait prints the id and returns at once.
import { readFileSync } from 'node:fs';
import { type JobInfo, JobSubmissionClient } from '@tray/dashboard';
import { type FlagSpec, parseFlags } from '../flags.js';
import { UsageError } from '../usage-error.js';
import { jobTarget } from './job-target.js';

const common: Record<string, FlagSpec> = { address: { kind: 'string' } };

export const jobFlags: Record<string, Record<string, FlagSpec>> = {
  submit: {
    ...common,
    'working-dir': { kind: 'string' },
    'runtime-env-json': { kind: 'string' },
    'runtime-env': { kind: 'string' },
    'submission-id': { kind: 'string' },
    'metadata-json': { kind: 'string' },
    'entrypoint-num-cpus': { kind: 'number' },
    'entrypoint-num-gpus': { kind: 'number' },
    'entrypoint-memory': { kind: 'count' },
    'entrypoint-resources': { kind: 'json-resources' },
    'no-wait': { kind: 'boolean' },
  },
  status: common,
  logs: { ...common, follow: { kind: 'boolean' } },
  stop: { ...common, 'no-wait': { kind: 'boolean' } },
  list: { ...common, json: { kind: 'boolean' } },
  delete: common,
};

const TERMINAL = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);

function jsonObject(flag: string, raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--${flag} is not valid JSON: ${(err as Error).message}`, 'job');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--${flag} must be a JSON object`, 'job');
  }
  return value as Record<string, unknown>;
}

/** One argument is a shell command as it is; several are quoted and joined (Ray's list2cmdline). */
export function entrypointOf(args: string[]): string {
  if (args.length === 1) return args[0]!;
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function runtimeEnvOf(flags: Record<string, unknown>): Record<string, unknown> | undefined {
  if (flags.runtimeEnvJson !== undefined && flags.runtimeEnv !== undefined) {
    throw new UsageError('give --runtime-env-json or --runtime-env (a JSON file), not both', 'job');
  }
  let env: Record<string, unknown> | undefined;
  if (flags.runtimeEnvJson !== undefined) env = jsonObject('runtime-env-json', String(flags.runtimeEnvJson));
  if (flags.runtimeEnv !== undefined) {
    let text: string;
    try {
      text = readFileSync(String(flags.runtimeEnv), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --runtime-env ${flags.runtimeEnv}: ${(err as Error).message}`, 'job');
    }
    env = jsonObject('runtime-env', text);
  }
  // Ray's snake_case keys are accepted too.
  const camel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env ?? {}))
    camel[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  if (flags.workingDir !== undefined) camel.workingDir = String(flags.workingDir);
  return Object.keys(camel).length > 0 ? camel : undefined;
}

async function follow(client: JobSubmissionClient, id: string, out: NodeJS.WritableStream): Promise<JobInfo> {
  for await (const chunk of client.tailJobLogs(id)) out.write(chunk);
  return client.getJobInfo(id);
}

function exitCodeOf(info: JobInfo): number {
  if (info.status === 'SUCCEEDED') return 0;
  const code = info.driverExitCode;
  return code !== null && code > 0 && code < 256 ? code : 1;
}

function oneId(command: string, positional: string[]): string {
  if (positional.length !== 1) throw new UsageError(`tray job ${command} takes one job id`, 'job');
  return positional[0]!;
}

function formatList(jobs: JobInfo[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  const rows = jobs.map((j) => [
    j.submissionId,
    j.status,
    j.startTime ? new Date(j.startTime).toISOString() : '-',
    j.entrypoint.length > 60 ? `${j.entrypoint.slice(0, 57)}...` : j.entrypoint,
  ]);
  const header = ['SUBMISSION ID', 'STATUS', 'START TIME', 'ENTRYPOINT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return `${[header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export async function job(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || !(command in jobFlags)) {
    throw new UsageError(
      command === undefined ? 'which job command?' : `unknown job command '${command}'`,
      'job',
    );
  }
  const dashDash = rest.indexOf('--');
  const flagArgs = dashDash === -1 ? rest : rest.slice(0, dashDash);
  const afterDash = dashDash === -1 ? [] : rest.slice(dashDash + 1);
  // Positional job ids come first (`tray job status <id> [--address ...]`).
  const positional: string[] = [];
  while (flagArgs.length > 0 && !flagArgs[0]!.startsWith('--')) positional.push(flagArgs.shift()!);
  const flags = parseFlags('job', flagArgs, jobFlags[command]!);
  // The command line is checked before anything is looked up or sent.
  if (command === 'submit' && positional.length + afterDash.length === 0) {
    throw new UsageError('tray job submit needs an entrypoint: tray job submit -- <command>', 'job');
  }
  if (command !== 'submit' && afterDash.length > 0) {
    throw new UsageError(`tray job ${command} takes no '--' arguments`, 'job');
  }
  if (command !== 'submit' && command !== 'list') oneId(command, positional);
  if (command === 'list' && positional.length > 0)
    throw new UsageError('tray job list takes no job id', 'job');
  const target = jobTarget(flags.address as string | undefined);
  const client = new JobSubmissionClient(target.address, { token: target.token });

  switch (command) {
    case 'submit': {
      const args = [...positional, ...afterDash];
      if (args.length === 0)
        throw new UsageError('tray job submit needs an entrypoint: tray job submit -- <command>', 'job');
      const id = await client.submitJob({
        entrypoint: entrypointOf(args),
        submissionId: flags.submissionId as string | undefined,
        runtimeEnv: runtimeEnvOf(flags),
        metadata: flags.metadataJson
          ? (jsonObject('metadata-json', String(flags.metadataJson)) as Record<string, string>)
          : undefined,
        entrypointNumCpus: flags.entrypointNumCpus as number | undefined,
        entrypointNumGpus: flags.entrypointNumGpus as number | undefined,
        entrypointMemory: flags.entrypointMemory as number | undefined,
        entrypointResources: flags.entrypointResources as Record<string, number> | undefined,
      });
      process.stderr.write(`tray job: submitted '${id}' to ${target.address}\n`);
      if (flags.noWait) {
        out.write(`${id}\n`);
        return 0;
      }
      const info = await follow(client, id, out);
      process.stderr.write(
        `tray job: '${id}' ${info.status}${info.status === 'SUCCEEDED' ? '' : `: ${info.message ?? ''}`}\n`,
      );
      return exitCodeOf(info);
    }
    case 'status': {
      const info = await client.getJobInfo(oneId(command, positional));
      out.write(`${info.status}${info.message ? `: ${info.message}` : ''}\n`);
      return 0;
    }
    case 'logs': {
      const id = oneId(command, positional);
      if (flags.follow) await follow(client, id, out);
      else out.write(await client.getJobLogs(id));
      return 0;
    }
    case 'stop': {
      const id = oneId(command, positional);
      const stopped = await client.stopJob(id);
      if (!stopped) {
        out.write(`job '${id}' had already ended\n`);
        return 0;
      }
      if (!flags.noWait) {
        const deadline = Date.now() + 60_000;
        while (!TERMINAL.has(await client.getJobStatus(id)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      out.write(`job '${id}' stopped\n`);
      return 0;
    }
    case 'list': {
      const jobs = await client.listJobs();
      out.write(flags.json ? `${JSON.stringify(jobs)}\n` : formatList(jobs));
      return 0;
    }
    case 'delete': {
      const id = oneId(command, positional);
      await client.deleteJob(id);
      out.write(`job '${id}' deleted\n`);
      return 0;
    }
  }
  return 2;
}
