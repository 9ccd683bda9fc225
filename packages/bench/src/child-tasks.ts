import { peakRssMiB } from './harness/child';
import type { ResumeApproach, ResumeFixture } from './suites/resume-approaches';

/** Runs one task of a child process (see `runChild`) and returns what it measured. */
export async function runChildTask(task: string, input: unknown): Promise<unknown> {
  switch (task) {
    case 'resume': {
      const { approach, fixture } = input as { approach: ResumeApproach; fixture: ResumeFixture };
      if (approach === 'ferry') {
        const { ferryResumeOnce } = await import('./suites/ferry-resume');
        return ferryResumeOnce(fixture);
      }
      const { loadBaselineOnce } = await import('./suites/resume-approaches');
      return loadBaselineOnce(approach, fixture);
    }
    case 'idle': {
      if ((input as { ferry: boolean }).ferry) await import('./suites/ferry-resume');
      return { peakRssMiB: peakRssMiB() };
    }
    default:
      throw new Error(`unknown child task "${task}"`);
  }
}
