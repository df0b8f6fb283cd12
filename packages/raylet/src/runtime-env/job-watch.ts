// Jobs that end anywhere in the cluster, from the GCS's JOB_CHANNEL (Ray's raylet hears of a
// finished job the same way): a job marked dead (its driver's shutdown, or its driver or node
// reported dead) gives back the eager-install reference it held on this node, even when its
// driver ran on another machine. Subscribes again (1 s apart) when the GCS goes away.
import { createGrpcClient, InternalPubSubGcsService, tray } from '@tray/protocol';

export interface JobWatch {
  close(): void;
}

export function watchFinishedJobs(
  gcsAddress: string,
  token: string,
  onFinished: (jobId: Uint8Array) => void,
): JobWatch {
  const client = createGrpcClient(gcsAddress, { token });
  let closed = false;
  let stream: { cancel(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const subscribe = async () => {
    if (closed) return;
    try {
      const s = client.stream(InternalPubSubGcsService.GcsSubscribe, {
        channels: [tray.v1.ChannelType.JOB_CHANNEL],
      });
      stream = s;
      for await (const message of s) {
        const job = message.job;
        if (job?.isDead && job.jobId && job.jobId.length > 0) onFinished(job.jobId);
      }
    } catch {}
    stream = undefined;
    if (!closed) {
      timer = setTimeout(() => void subscribe(), 1000);
      timer.unref();
    }
  };
  void subscribe();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      stream?.cancel();
      client.close();
    },
  };
}
