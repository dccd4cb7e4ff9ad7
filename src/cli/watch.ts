import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { CreditsClient, JobView } from '../client/client.js';
import { jobBarPayload, jobProgressLine, watchStopReason } from './format.js';

export const WATCH_INTERVAL_MS = 500;

/** Shows a watched job's progress: a live bar on a terminal, one line per change anywhere else. */
interface ProgressView {
  show(job: JobView): void;
  close(): void;
}

function progressLines(out: NodeJS.WritableStream): ProgressView {
  let last = '';
  return {
    show(job) {
      const line = jobProgressLine(job);
      if (line !== last) out.write(line);
      last = line;
    },
    close() {},
  };
}

function progressBar(out: NodeJS.WriteStream): ProgressView {
  const bar = new SingleBar(
    {
      stream: out,
      format: '{jobId} [{bar}] {percentage}% | {counts} records | {status} | verified {verified} | charged {charged} credits',
      hideCursor: true,
      fps: 5,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    show(job) {
      // A job with no records yet still gets a bar: 0 of 1 rather than a division by zero.
      const total = Math.max(1, job.progress.total);
      if (!started) {
        bar.start(total, job.progress.processed, jobBarPayload(job));
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(job.progress.processed, jobBarPayload(job));
      }
    },
    close() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/**
 * Polls GET /v1/jobs/{jobId} until the job completes, is cancelled, fails or pauses, then says why
 * it stopped watching. Ctrl-C stops watching (the job itself carries on) with exit code 130.
 */
export async function watchJob(client: CreditsClient, jobId: string, out: NodeJS.WriteStream = process.stdout, intervalMs = WATCH_INTERVAL_MS): Promise<JobView> {
  const view = out.isTTY ? progressBar(out) : progressLines(out);
  const interrupted = new AbortController();
  const onInterrupt = () => {
    interrupted.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    for (;;) {
      const job = await client.getJob(jobId);
      view.show(job);
      const reason = watchStopReason(job);
      if (reason !== null) {
        view.close();
        out.write(reason);
        return job;
      }
      try {
        await sleep(intervalMs, undefined, { signal: interrupted.signal });
      } catch {
        view.close();
        out.write(`stopped watching job ${jobId}; it is still ${job.status}\n`);
        process.exitCode = 130;
        return job;
      }
    }
  } finally {
    view.close();
    process.off('SIGINT', onInterrupt);
  }
}
