// Where a job's log is read from: the node that ran its supervisor wrote it into that node's
// logs/ (job-driver-<id>.log). A job of the head node (or of a supervisor that never started) is
// read from the file here; a job of any other node through that node's raylet (ListLogs/GetLog),
// as Ray's dashboard reads a job's log through the log agent of the driver's node. A node that is
// gone takes its log with it: that is an error that says so, not an empty log.

import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { HttpError } from '../server/http-error.js';
import { remoteLogs } from '../state/node-logs.js';
import type { Raylets } from '../state/raylets.js';
import type { StoredJob } from './job-info.js';
import { MAX_LOG_RESPONSE_BYTES, readFrom, readLog } from './job-logs.js';

export interface JobLog {
  /** The whole log (its last MAX_LOG_RESPONSE_BYTES, with a note when cut). */
  whole(): Promise<string>;
  /** The text appended from byte `offset` on, and how many bytes it took (the next offset). */
  from(offset: number): Promise<{ text: string; bytes: number }>;
}

const EMPTY: JobLog = { whole: async () => '', from: async () => ({ text: '', bytes: 0 }) };

function localLog(file: string): JobLog {
  return { whole: async () => readLog(file), from: async (offset) => readFrom(file, offset) };
}

/** The node a job's log is on, as the supervisor recorded it; null: this (the head) node. */
async function logNode(job: StoredJob, raylets: Raylets): Promise<string | null> {
  const nodeId = job.driver_node_id;
  if (!nodeId) return null;
  const node = (await raylets.nodes()).get(nodeId);
  if (node?.isHead) return null;
  if (node === undefined) {
    throw new HttpError(
      404,
      `job '${job.submission_id}' ran on node ${nodeId}, which is no longer alive: its log was on that node`,
    );
  }
  return nodeId;
}

/** The log of `job` wherever its supervisor ran (no log yet: an empty one). */
export async function jobLog(job: StoredJob, raylets: Raylets): Promise<JobLog> {
  if (!job._log_path) return EMPTY;
  const nodeId = await logNode(job, raylets);
  if (nodeId === null) return localLog(job._log_path);
  const logs = await remoteLogs(raylets, nodeId);
  const name = path.basename(job._log_path);
  // A read of the raylet's may end inside a UTF-8 character: the decoder holds it for the next.
  const decoder = new StringDecoder('utf8');
  return {
    async whole() {
      const { end: size } = await logs.tail(name, 1);
      const start = Math.max(0, size - MAX_LOG_RESPONSE_BYTES);
      const whole = new StringDecoder('utf8');
      let text = '';
      for (let offset = start; offset < size; ) {
        const { data, end } = await logs.from(name, offset);
        if (data.length === 0) break;
        text += whole.write(data);
        offset = end;
      }
      text += whole.end();
      return start > 0 ? `[the first ${start} bytes of this log are left out]\n${text}` : text;
    },
    async from(offset) {
      const { data, end } = await logs.from(name, offset);
      return { text: decoder.write(data), bytes: Math.max(0, end - offset) };
    },
  };
}
