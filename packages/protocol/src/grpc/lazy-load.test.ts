// Importing @tray/protocol must not load grpc-js: workers and the framed hot paths never speak
// gRPC, and loading it was a large part of every process's start. It loads when a gRPC server
// or client is first created, and then works as before. Checked in a fresh process, since this
// test runner's own process may have loaded grpc-js for other reasons.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = `
  import { createRequire } from 'node:module';
  const loaded = () =>
    Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('@grpc/grpc-js'));
  const protocol = await import(${JSON.stringify(join(import.meta.dirname, '../index.ts'))});
  const afterImport = loaded();
  const framed = await protocol.listen({ port: 0 }, () => {}, { token: 't' });
  const afterFramed = loaded();
  await framed.close();
  protocol.preloadGrpc();
  const afterPreload = loaded();
  const server = protocol.createGrpcServer({ token: 't' });
  server.addService(protocol.InternalKVGcsService, {
    InternalKVGet: (req) => ({ value: Buffer.from('v:' + Buffer.from(req.key).toString()) }),
  });
  const port = await server.listen('127.0.0.1', 0);
  const client = protocol.createGrpcClient('127.0.0.1:' + port, { token: 't' });
  const reply = await client.call(protocol.InternalKVGcsService.InternalKVGet, { key: Buffer.from('k') });
  client.close();
  await server.close(100);
  console.log(JSON.stringify({ afterImport, afterFramed, afterPreload, afterServer: loaded(), reply: Buffer.from(reply.value).toString() }));
`;

function runFresh(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 25_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('grpc-js loading', () => {
  it('happens on preloadGrpc() or when a gRPC server or client is created, not on import', async () => {
    const result = JSON.parse((await runFresh()).trim().split('\n').pop()!);
    expect(result).toEqual({
      afterImport: false,
      afterFramed: false,
      afterPreload: true,
      afterServer: true,
      reply: 'v:k',
    });
  });
});
