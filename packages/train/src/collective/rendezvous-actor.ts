// The rendezvous of one collective group: a named actor (created get-if-exists by whichever
// member comes first) where each member registers the address it listens on (its node id and pid) and waits until all
// worldSize members have; each then gets every address and the group's random secret, with which
// the members authenticate their connections to each other (handshake.ts). It holds no data and
// sees no operation; rank 0 kills it once every member has connected. Runs in a worker from
// dist/worker/actors.js (re-exported there).
import { randomBytes } from 'node:crypto';

export interface Rendezvous {
  /** Hex of the group's 32-byte secret. */
  secret: string;
  /** Every member's "host:port", by rank. */
  addresses: string[];
  /** Every member's node id, by rank ('' when it gave none): members on one node share memory. */
  nodeIds: string[];
  /** Every member's process id, by rank (0 when it gave none): rank 0's names the shared region's file. */
  pids: number[];
}

const ADDRESS = /^[A-Za-z0-9.:[\]-]{1,255}:\d{1,5}$/;
const NODE_ID = /^[A-Za-z0-9_-]{0,128}$/;

export class CollectiveRendezvous {
  private readonly secret = randomBytes(32).toString('hex');
  private worldSize = 0;
  private addresses: (string | undefined)[] = [];
  private nodeIds: string[] = [];
  private pids: number[] = [];
  private waiters: (() => void)[] = [];

  /** Registers `rank`'s address; resolves once every rank has registered. */
  async join(rank: number, worldSize: number, address: string, nodeId = '', pid = 0): Promise<Rendezvous> {
    if (!Number.isInteger(worldSize) || worldSize < 1)
      throw new Error(`worldSize must be a positive integer, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new Error(`rank must be an integer in [0, ${worldSize}), got ${rank}`);
    }
    if (typeof address !== 'string' || !ADDRESS.test(address))
      throw new Error(`rank ${rank} gave a malformed address ${JSON.stringify(address)}`);
    if (typeof nodeId !== 'string' || !NODE_ID.test(nodeId))
      throw new Error(`rank ${rank} gave a malformed node id ${JSON.stringify(nodeId)}`);
    if (!Number.isInteger(pid) || pid < 0 || pid > 0x7fffffff)
      throw new Error(`rank ${rank} gave a malformed process id ${JSON.stringify(pid)}`);
    if (this.worldSize === 0) {
      this.worldSize = worldSize;
      this.addresses = new Array(worldSize).fill(undefined);
      this.nodeIds = new Array(worldSize).fill('');
      this.pids = new Array(worldSize).fill(0);
    } else if (worldSize !== this.worldSize) {
      throw new Error(
        `rank ${rank} joined with worldSize ${worldSize}, but the group was started with worldSize ${this.worldSize}`,
      );
    }
    if (this.addresses[rank] !== undefined) {
      throw new Error(
        `rank ${rank} joined twice (two members were given the same rank, or a group name was reused)`,
      );
    }
    this.addresses[rank] = address;
    this.nodeIds[rank] = nodeId;
    this.pids[rank] = pid;
    if (this.missing().length === 0) {
      for (const wake of this.waiters) wake();
      this.waiters = [];
    } else {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return {
      secret: this.secret,
      addresses: this.addresses as string[],
      nodeIds: this.nodeIds,
      pids: this.pids,
    };
  }

  /** The addresses registered so far, by rank (null: not yet); no secret. */
  joined(): (string | null)[] {
    return this.addresses.map((a) => a ?? null);
  }

  /** The ranks that have not joined yet (for a timeout's message). */
  missing(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.worldSize; r++) if (this.addresses[r] === undefined) out.push(r);
    return out;
  }
}
