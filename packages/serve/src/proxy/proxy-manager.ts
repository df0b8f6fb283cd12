// The controller's side of the HTTP proxies: reconcile() runs on every control-loop tick and
// keeps one proxy per node (EveryNode), on the head only (HeadOnly) or none (Disabled). This is
// the do-nothing stand-in of the control-plane branch; the HTTP work replaces it with the real
// manager behind this exact shape.
export interface ProxyManagerOptions {
  http: { host: string; port: number; requestTimeoutMs?: number };
  proxyLocation: 'EveryNode' | 'HeadOnly' | 'Disabled';
}

export class ProxyManager {
  constructor(readonly options: ProxyManagerOptions) {}

  async reconcile(): Promise<void> {}

  async shutdown(): Promise<void> {}

  status(): Array<{ nodeId: string; status: string }> {
    return [];
  }
}
