// The runtime-env agent as its own process, one per node (docs/processes.md): the raylet forks
// it with its options as JSON in TRAY_AGENT_OPTIONS; it serves RuntimeEnvAgentService on
// 127.0.0.1 (an ephemeral port) with the cluster token and sends one IPC message
// {type:'ready', port} (or {type:'error', message} and exits 1). npm installs and unpacking
// run here, never on the raylet's event loop. It exits — killing its setup commands' process
// groups — when its IPC channel disconnects (the raylet died) or on SIGTERM/SIGINT.
import { createGrpcServer, RuntimeEnvAgentService, sendToParent, type TrayGrpcServer } from '@tray/protocol';
import { killCommands, recordCommandGroups } from '@tray/runtime-env';
import { agentHandlers } from './agent-service.js';
import { type AgentProcessOptions, createRuntimeEnvAgent, setupGroupsDirOf } from './runtime-env-agent.js';

function parseOptions(raw: string | undefined): AgentProcessOptions {
  let o: Partial<AgentProcessOptions>;
  try {
    o = JSON.parse(raw ?? '');
  } catch {
    throw new Error('TRAY_AGENT_OPTIONS must hold the runtime-env agent options as JSON');
  }
  const strings = ['sessionDir', 'nodeId', 'token', 'workerEntry'] as const;
  for (const k of strings)
    if (typeof o?.[k] !== 'string') throw new Error(`TRAY_AGENT_OPTIONS.${k} must be a string`);
  if (!Array.isArray(o.runtimeEnvPlugins) || o.runtimeEnvPlugins.some((p) => typeof p !== 'string'))
    throw new Error('TRAY_AGENT_OPTIONS.runtimeEnvPlugins must be an array of file paths');
  if (typeof o.runtimeEnvCacheBytes !== 'number' || !(o.runtimeEnvCacheBytes >= 0))
    throw new Error('TRAY_AGENT_OPTIONS.runtimeEnvCacheBytes must be a number ≥ 0');
  return o as AgentProcessOptions;
}

async function main(): Promise<void> {
  let server: TrayGrpcServer | undefined;
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    killCommands();
    void server?.close(0);
    setTimeout(() => process.exit(code), 50).unref();
  };
  process.on('disconnect', () => exit(0));
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  if (!process.send || !process.connected) {
    process.stderr.write('tray runtime-env agent: run by a raylet (fork with an IPC channel), not by hand\n');
    return void exit(1);
  }
  try {
    const o = parseOptions(process.env.TRAY_AGENT_OPTIONS);
    delete process.env.TRAY_AGENT_OPTIONS;
    recordCommandGroups(setupGroupsDirOf(o.sessionDir, o.nodeId));
    const hosted = await createRuntimeEnvAgent(o);
    server = createGrpcServer({ token: o.token, tls: false });
    server.addService(RuntimeEnvAgentService, agentHandlers(hosted.agent, hosted.registry));
    const port = await server.listen('127.0.0.1', 0);
    void sendToParent({ type: 'ready', port });
  } catch (err) {
    void sendToParent({ type: 'error', message: (err as Error).message });
    exit(1);
  }
}

void main();
