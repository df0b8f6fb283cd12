// What the numbers were measured on: printed as the report's header and in the JSON line, since
// throughput means little without the CPU model, core count, RAM and Node version.
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function machineLine(machine: MachineInfo): string {
  return (
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, ` +
    `Node ${machine.node} (${machine.platform})`
  );
}
