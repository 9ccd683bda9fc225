import type { MachineDescription } from '../harness/machine';
import type { AppendResult } from '../suites/append';
import type { LoopSuiteResult } from '../suites/loop';
import type { ResumeSuiteResult } from '../suites/resume';
import type { SandboxSuiteResult } from '../suites/sandbox';
import type { ServerSuiteResult } from '../suites/server';
import type { ClusterSuiteResult } from '../suites/cluster';
import type { StoresSuiteResult } from '../suites/stores';
import type { TeleportSuiteResult } from '../suites/teleport';

/** Everything one `pnpm bench` measured. */
export interface BenchResults {
  startedAt: Date;
  durationSeconds: number;
  quick: boolean;
  machine: MachineDescription;
  /** 1-minute load average when the run ended. */
  endLoadAverage: number;
  versions: Record<string, string>;
  resume?: ResumeSuiteResult;
  append?: AppendResult[];
  loop?: LoopSuiteResult;
  teleport?: TeleportSuiteResult;
  server?: ServerSuiteResult;
  stores?: StoresSuiteResult;
  cluster?: ClusterSuiteResult;
  sandbox?: SandboxSuiteResult;
}
