// A leased worker that waits on other tasks (tray.get/wait inside a task) lends its CPU to the
// node, so the tasks it waits for can run there, and takes it back when it runs again, even if
// that oversubscribes the node for a while (as Ray's raylet does). The lease manager calls these.
import { type NodeResources, ResourceSet } from '@tray/scheduler';
import type { GrantedLease } from './lease-queues.js';

/** Lend the lease's CPU to the node; false when it holds none or already lent it. */
export function lendCpu(lease: GrantedLease, resources: NodeResources): boolean {
  if (lease.blockedCpu > 0) return false;
  let cpu = 0;
  for (const grant of lease.grants) cpu += grant.resources.get('CPU');
  if (cpu === 0) return false;
  const cpuOnly = ResourceSet.from({ CPU: cpu });
  lease.grants = lease.grants.map((g) => ({ ...g, resources: g.resources.pick(['CPU'], true) }));
  resources.release({ resources: cpuOnly, instanceIds: {}, shares: {} });
  lease.blockedCpu = cpu;
  return true;
}

/** Take the lent CPU back; false when nothing was lent. */
export function takeCpuBack(lease: GrantedLease, resources: NodeResources): boolean {
  if (lease.blockedCpu === 0) return false;
  lease.grants.push(resources.forceAcquire({ CPU: lease.blockedCpu }));
  lease.blockedCpu = 0;
  return true;
}
