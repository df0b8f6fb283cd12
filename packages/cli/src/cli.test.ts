// The `tray` bin as a user runs it: a real child process per command, real daemons, a private
// TMPDIR per test so current_cluster.json and sessions never touch the machine's own.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isAlive, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { driver, TestCluster, tray } from '../test/cli-process.js';

const cluster = new TestCluster();
const started = cluster.started;
const tempDir = () => cluster.tempDir();

afterEach(() => cluster.cleanUp());

describe('tray: usage errors', () => {
  it.each([
    [['start', '--bogus'], /tray start: unknown flag --bogus[\s\S]*usage: tray start --head/],
    [['start'], /exactly one of --head .* or --address/],
    [['start', '--head', '--port', 'eighty'], /--port must be a port number/],
    [['start', '--address', 'nowhere'], /--address must be host:port/],
    [
      ['start', '--head', '--node-ip-address', 'my-box'],
      /--node-ip-address must be an IP address .* got 'my-box'/,
    ],
    [
      ['start', '--head', '--redis-address', 'http://127.0.0.1:6379'],
      /--redis-address must be redis:\/\/host:port .*: the scheme must be redis:\/\/ or rediss:\/\/, not http:\/\//,
    ],
    [['start', '--head', '--redis-address', 'redis://127.0.0.1'], /--redis-address must be .*: no port/],
    [['start', '--head', '--redis-password', 'pw'], /--redis-password needs --redis-address/],
    [
      ['start', '--address', '127.0.0.1:6380', '--redis-address', 'redis://127.0.0.1:6379'],
      /configure the head's GCS; use them with --head/,
    ],
    [
      ['start', '--head', '--include-dashboard', 'maybe'],
      /--include-dashboard takes true or false, got 'maybe'/,
    ],
    [['start', '--head', '--dashboard-host', 'my-box'], /--dashboard-host must be an IP address to bind/],
    [
      ['start', '--address', '127.0.0.1:6380', '--dashboard-port', '9000'],
      /the dashboard runs on the head node/,
    ],
    [['job', 'status'], /tray job status takes one job id[\s\S]*usage: tray job submit/],
    [
      ['microbenchmark', '--rounds', '0'],
      /--rounds must be a whole number ≥ 1[\s\S]*usage: tray microbenchmark/,
    ],
    [
      ['microbenchmark', '--filter', 'no_such_key'],
      /no key contains 'no_such_key'[\s\S]*single_client_tasks_sync/,
    ],
    [['status', '--json=1'], /--json takes no value/],
    [['launch'], /unknown command 'launch'[\s\S]*usage: tray <command>/],
  ])('tray %j exits 2 with a usage message', async (args, message) => {
    const run = await tray(args as string[], tempDir());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message as RegExp);
  });

  it('status with no cluster to ask says how to start one', async () => {
    const run = await tray(['status'], tempDir());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/tray start --head/);
  });

  it('stop with nothing running is not an error', async () => {
    const run = await tray(['stop'], tempDir());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no tray node/);
  });
});

describe('tray start / status / stop', () => {
  it('starts a head node that outlives the command, reports it, and stops it leaving no process', async () => {
    const tmp = tempDir();
    const start = await tray(
      [
        'start',
        '--head',
        '--port',
        '0',
        '--num-cpus',
        '1',
        '--resources',
        '{"custom": 2}',
        '--object-store-memory',
        '100000000',
      ],
      tmp,
    );
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
    const pids: number[] = Object.values(record.pids as Record<string, number>);
    started.push(...pids);
    // The supervisor, the GCS, the raylet and the dashboard (default port 8265, or the next free).
    expect(Object.keys(record.pids).sort()).toEqual(['dashboard', 'gcs', 'raylet', 'supervisor']);
    expect(record.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(start.stdout).toContain(`dashboard: ${record.dashboardUrl}`);
    expect(start.stdout).toContain(`tray.init({ address: '${record.gcsAddress}' })`);
    expect(start.stdout).toContain('tray stop');
    expect(statSync(record.tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(record.tokenFile, 'utf8')).toMatch(/^[0-9a-f]{64}$/);

    // The start command has exited; the node answers anyway.
    const status = await tray(['status', '--json'], tmp);
    expect(status.code).toBe(0);
    const { nodes } = JSON.parse(status.stdout);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ nodeId: record.nodeId, alive: true, isHead: true });
    expect(nodes[0].total).toMatchObject({ CPU: 1, custom: 2, object_store_memory: 100000000 });
    expect(nodes[0].available).toMatchObject({ CPU: 1, custom: 2 });
    const table = await tray(['status'], tmp);
    expect(table.stdout).toMatch(/1 alive node\(s\), 0 dead[\s\S]*ALIVE[\s\S]*custom\s+2 \/ 2 available/);
    expect(table.stdout).toContain(`dashboard ${record.dashboardUrl}  UP`);

    // A driver on this machine joins with nothing but TRAY_ADDRESS: the token comes from the
    // record `tray start` wrote, and its tasks run on the node's workers.
    const joined = await driver(
      "const tray = await import('@tray/core'); await tray.init();" +
        'const f = tray.remote((x) => x + 1);' +
        'console.log(JSON.stringify(await tray.get(f.remote(41)))); await tray.shutdown();',
      { TMPDIR: tmp, TRAY_ADDRESS: record.gcsAddress },
    );
    expect(joined.stderr).toBe('');
    expect(joined.stdout.trim()).toBe('42');

    // One node per machine: a second start says what to do.
    const again = await tray(['start', '--head', '--port', '0'], tmp);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already running.*tray stop/);

    // The raylet's workers (logs/worker-<pid>.out) must go with it.
    const workers = readdirSync(path.join(record.sessionDir, 'logs'))
      .map((name) => /^worker-(\d+)\.out$/.exec(name)?.[1])
      .filter((pid): pid is string => pid !== undefined)
      .map(Number);
    started.push(...workers);

    const stop = await tray(['stop'], tmp);
    expect(stop.code).toBe(0);
    await waitFor(() => [...pids, ...workers].every((pid) => !isAlive(pid)), {
      timeoutMs: 20_000,
      what: 'the cluster and its workers to exit',
    });
    expect(existsSync(path.join(tmp, 'tray', 'current_cluster.json'))).toBe(false);
    expect(readdirSync(path.join(record.sessionDir, 'sockets'))).toEqual([]);

    // And status now says nothing runs.
    expect((await tray(['status'], tmp)).code).toBe(2);
  });

  it('a start whose GCS cannot bind reports the failure, exits 1 and leaves nothing running', async () => {
    const tmp = tempDir();
    const first = await tray(['start', '--head', '--port', '0', '--num-cpus', '0'], tmp);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(tmp, 'tray', 'current_cluster.json'), 'utf8'));
    started.push(...(Object.values(record.pids) as number[]));
    const port = record.gcsAddress.split(':')[1];

    const other = tempDir();
    const clash = await tray(['start', '--head', '--port', port, '--num-cpus', '0'], other);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(
      /the node failed to start: the GCS failed to start: [\s\S]*EADDRINUSE[\s\S]*logs: /,
    );
    expect(existsSync(path.join(other, 'tray', 'current_cluster.json'))).toBe(false);

    expect((await tray(['stop'], tmp)).code).toBe(0);
  });
});

describe('tray microbenchmark', () => {
  it('runs one key through @tray/core on a local cluster and prints the JSON line last', async () => {
    const run = await tray(
      [
        'microbenchmark',
        '--json',
        '--rounds',
        '1',
        '--round-ms',
        '200',
        '--warmup-ms',
        '100',
        '--filter',
        'single_client_tasks_sync',
      ],
      tempDir(),
    );
    expect(run.stderr).not.toMatch(/failed/);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^machine: \d+ × .+ GiB RAM, Node v\d+/);
    expect(run.stdout).toMatch(/single_client_tasks_sync \|\s+[\d,.]+ \|.*\|\s+981 \|/);
    const json = JSON.parse(lines[lines.length - 1]);
    expect(json.single_client_tasks_sync).toBeGreaterThan(0);
    expect(json.machine.cpus).toBeGreaterThan(0);
  });
});
