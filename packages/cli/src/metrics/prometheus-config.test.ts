// The prometheus.yml `tray metrics launch-prometheus` writes, checked by Prometheus' own
// `promtool check config` (installed with Debian's prometheus, as .ci/run does), and the
// command's usage errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { prometheusConfig } from './prometheus-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function session(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-prom-config-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'token'), 'secret');
  writeFileSync(
    path.join(dir, 'prom_metrics_service_discovery.json'),
    JSON.stringify([{ targets: ['127.0.0.1:1'], labels: { job: 'tray' } }]),
  );
  return dir;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk;
      done();
    },
  });
  return { stream, text: () => text };
}

describe('tray metrics launch-prometheus', () => {
  it('writes a config promtool accepts: file_sd over the session file, the token file as Bearer credentials', () => {
    const dir = session();
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(file, prometheusConfig({ sessionDir: dir, scrapeInterval: '1s' }));
    const report = execFileSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(report).toMatch(/SUCCESS/);
    const text = prometheusConfig({ sessionDir: dir, scrapeInterval: '10s' });
    expect(text).toContain(`credentials_file: ${JSON.stringify(path.join(dir, 'token'))}`);
    expect(text).toContain(JSON.stringify(path.join(dir, 'prom_metrics_service_discovery.json')));
  });

  it('refuses a scrape interval that is not a duration, and a directory that is no session', async () => {
    expect(() => prometheusConfig({ sessionDir: '/x', scrapeInterval: 'often' })).toThrow(
      /Prometheus duration/,
    );
    const err = sink();
    const code = await runCli(
      ['metrics', 'launch-prometheus', '--session-dir', os.tmpdir()],
      sink().stream,
      err.stream,
    );
    expect(code).toBe(2);
    expect(err.text()).toMatch(/is not a tray session directory/);
    const none = sink();
    expect(await runCli(['metrics'], sink().stream, none.stream)).toBe(2);
    expect(none.text()).toMatch(/name a subcommand/);
  });
});
