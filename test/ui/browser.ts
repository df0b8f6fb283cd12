// The system's Chromium (Debian's `chromium`, which .ci/run installs) under puppeteer-core, which
// never downloads a browser of its own: new headless mode, --no-sandbox only when running as root
// (Chromium refuses to start its sandbox as root), a private profile directory. The caller gets
// the browser's pid so it can be killed by pid even when the test fails.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { descendants, killAndWait } from '@tray/test-support';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  pid: number;
  /** Closes the browser, SIGKILLs it and its helpers (by pid) if still there, removes its profile. */
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set PUPPETEER_EXECUTABLE_PATH`,
    );
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'tray-ui-chromium-'));
  const args = ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args,
    userDataDir: profile,
    defaultViewport: { width: 1280, height: 800 },
    protocolTimeout: 120_000,
  });
  const pid = browser.process()?.pid;
  if (pid === undefined) throw new Error('puppeteer started Chromium but reports no pid');
  return {
    browser,
    pid,
    async close() {
      const pids = [pid, ...descendants(pid)];
      await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => {});
      await killAndWait(pids, { timeoutMs: 10_000 });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
