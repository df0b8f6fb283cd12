// The quickstart. Until @tray/core lands, it shows the layer everything stands on: two
// framed-transport peers over a Unix socket, answering a request with a protobuf reply.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, StoreService } from '../packages/protocol/dist/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tray-quickstart-'));
const socket = join(dir, 'demo.sock');
const server = await listen(
  socket,
  (c) => c.handle(StoreService.Contains, (req) => ({ sealed: req.objectId.length === 28 })),
  {
    token: 'demo',
  },
);
const client = await connect(socket, { token: 'demo' });
const reply = await client.request(StoreService.Contains, { objectId: new Uint8Array(28) });
console.log(`framed transport round trip over ${socket}: sealed=${reply.sealed}`);
console.log('tray.remote() arrives with @tray/core; see the README.');
client.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
