import { cpus, freemem, loadavg, release, totalmem, type, arch } from 'node:os';
import { availableParallelism } from 'node:os';

/** What the numbers were measured on. */
export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started; above ~0.5 the machine was not quiet. */
  loadAverage: number;
}

export function describeMachine(): MachineDescription {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    freeMemoryGiB: freemem() / 2 ** 30,
    node: process.version,
    os: `${type()} ${release()} (${arch()})`,
    loadAverage: loadavg()[0] ?? 0,
  };
}
