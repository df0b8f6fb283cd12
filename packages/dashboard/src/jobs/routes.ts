// Ray's Jobs REST API on the dashboard: POST /api/jobs/ (submit → { job_id, submission_id }),
// GET /api/jobs/ (a list of JobDetails), GET /api/jobs/{id}, POST /api/jobs/{id}/stop
// ({ stopped }), DELETE /api/jobs/{id} ({ deleted }), GET /api/jobs/{id}/logs ({ logs }),
// the WebSocket /api/jobs/{id}/logs/tail (text messages, closed when the job ended), and the
// package upload the client uses for a working_dir: GET|PUT /api/packages/tray-pkg/{hash}. A job's
// log is read on the node that ran it (job-log-source.ts).

import {
  archiveContentHashes,
  DEFAULT_MAX_PACKAGE_BYTES,
  PACKAGE_KV_NAMESPACE,
  uploadPackage,
} from '@tray/runtime-env';
import type { WebSocket } from 'ws';
import type { RouteGroup } from '../server/context.js';
import { badRequest, notFound } from '../server/http-error.js';
import { readBody, sendJson } from '../server/http-io.js';
import { Raylets } from '../state/raylets.js';
import { checkSubmissionId, isTerminal, parseSubmission, publicDetails } from './job-info.js';
import { type JobLog, jobLog } from './job-log-source.js';
import { JobManager } from './job-manager.js';

const TAIL_POLL_MS = 200;
const PACKAGE_HASH = /^[0-9a-f]{40}$/;

export const jobRoutes: RouteGroup = (router, ctx) => {
  const jobs = new JobManager(ctx.driver, ctx.gcs, ctx.log);
  jobs.start();
  ctx.onClose(() => jobs.close());
  const raylets = new Raylets(ctx.gcs, ctx.token);
  ctx.onClose(() => raylets.close());
  const idOf = (params: Record<string, string>) => checkSubmissionId(params.job_id, 'the job id in the URL');

  router.post('/api/jobs/', async (req, res) => {
    const submission = parseSubmission(await req.json());
    const id = await jobs.submit(submission);
    ctx.log(`job ${id} submitted`);
    sendJson(res, 200, { job_id: id, submission_id: id });
  });
  router.get('/api/jobs/', async (_req, res) => {
    sendJson(res, 200, (await jobs.store.list()).map(publicDetails));
  });
  router.get('/api/jobs/{job_id}', async (req, res) => {
    sendJson(res, 200, publicDetails(await jobs.get(idOf(req.params))));
  });
  router.post('/api/jobs/{job_id}/stop', async (req, res) => {
    sendJson(res, 200, { stopped: await jobs.stop(idOf(req.params)) });
  });
  router.delete('/api/jobs/{job_id}', async (req, res) => {
    sendJson(res, 200, { deleted: await jobs.delete(idOf(req.params)) });
  });
  router.get('/api/jobs/{job_id}/logs', async (req, res) => {
    const job = await jobs.get(idOf(req.params));
    sendJson(res, 200, { logs: await (await jobLog(job, raylets)).whole() });
  });
  router.ws('/api/jobs/{job_id}/logs/tail', async (socket, req) => {
    const id = idOf(req.params);
    await jobs.get(id); // 404 → the socket closes with the reason
    await tail(socket, id, jobs, raylets);
  });

  router.get('/api/packages/tray-pkg/{hash}', async (req, res) => {
    const hash = packageHash(req.params.hash);
    if (!(await ctx.gcs.kvExists(PACKAGE_KV_NAMESPACE, `pkg:${hash}`))) throw notFound(`no package ${hash}`);
    sendJson(res, 200, { exists: true });
  });
  router.put(
    '/api/packages/tray-pkg/{hash}',
    async (req, res) => {
      const hash = packageHash(req.params.hash);
      const archive = await readBody(req.raw, DEFAULT_MAX_PACKAGE_BYTES + (1 << 20));
      if (archive.length === 0) throw badRequest('the package body is empty: PUT the packed archive');
      // Stored under the hash its contents have, or not at all: a package named by one hash and
      // holding other files would run under a name that lies (and be shared by that name).
      let hashes: string[];
      try {
        hashes = archiveContentHashes(archive);
      } catch (err) {
        throw badRequest(`the package is not a tray package archive: ${(err as Error).message}`);
      }
      if (!hashes.includes(hash))
        throw badRequest(
          `the package's contents hash to ${hashes[0]}, not ${hash}: PUT it under the hash its contents have (the client's packDirectory gives it)`,
        );
      const uploaded = await uploadPackage(ctx.gcs, hash, archive);
      sendJson(res, 200, { uploaded, uri: `tray-pkg://${hash}` });
    },
    { bodyLimit: DEFAULT_MAX_PACKAGE_BYTES + (1 << 20) },
  );
};

function packageHash(hash: string | undefined): string {
  if (!hash || !PACKAGE_HASH.test(hash)) {
    throw badRequest(
      `a package hash is 40 lowercase hex characters, got ${JSON.stringify(hash)?.slice(0, 60)}`,
    );
  }
  return hash;
}

/** Sends the job's log as it grows; closes (1000) once the job ended and all of it was sent. */
async function tail(socket: WebSocket, id: string, jobs: JobManager, raylets: Raylets): Promise<void> {
  let offset = 0;
  let log: JobLog | undefined;
  let open = true;
  socket.on('close', () => {
    open = false;
  });
  while (open) {
    const job = await jobs.store.get(id);
    if (job === undefined) return socket.close(1000, 'the job was deleted');
    const ended = isTerminal(job.status);
    if (job._log_path) {
      log ??= await jobLog(job, raylets);
      for (;;) {
        const { text, bytes } = await log.from(offset);
        if (bytes === 0) break;
        offset += bytes;
        if (text === '') continue;
        await new Promise<void>((resolve, reject) =>
          socket.send(text, (err) => (err ? reject(err) : resolve())),
        );
      }
    }
    if (ended) return socket.close(1000, `the job is ${job.status}`);
    await new Promise((r) => setTimeout(r, TAIL_POLL_MS));
  }
}
