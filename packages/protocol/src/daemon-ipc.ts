// How a daemon child (GCS, raylet, runtime-env agent, dashboard, node supervisor) answers the
// process that forked it: one IPC message, a no-op when there is no channel (run by hand) or it
// is gone (the parent died). The promise settles once the message is flushed, so a daemon can
// report an error and then exit without losing it.
export function sendToParent(message: object): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}
