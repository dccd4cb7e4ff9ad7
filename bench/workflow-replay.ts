/**
 * `workflow.replay`: what a boundary costs a worker that does not hold the account's workflow in its
 * cache (at a boundary shared by more accounts than the cache holds, nearly every one): a replay of
 * the run's whole history, which grows with the periods the run has crossed. It replays a recorded
 * run of 24 boundaries (test/histories/account-v2-many-periods.run-00.pb, recorded before runs were
 * cut to `PERIODS_PER_RUN`; today's code replays it as such runs go on) cut after 1, 4, 12 and 23
 * boundaries, BENCH_REPLAYS times each (200), on the worker's own workflow bundle, in this process.
 *
 * Figures: `cpu_ms_<k>_periods` (this process's CPU, every thread, per replay), `events_<k>_periods`,
 * and `cpu_ms_per_period`, the slope from 1 to 23. No server and no database: the cost is the
 * worker's alone; what continuing as new costs instead shows in `rollover.*` (README "Sizing the worker").
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { bundleWorkflowsApart } from '../src/worker/workflow-code.js';
import { envInt, round, type Benchmark, type Figure } from './harness.js';

const RECORDED_RUN = fileURLToPath(new URL('../test/histories/account-v2-many-periods.run-00.pb', import.meta.url));
const CUT_AFTER_BOUNDARIES = [1, 4, 12, 23] as const;

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
const { EventType } = proto.temporal.api.enums.v1;

/**
 * The run as a worker would receive it just after its `boundaries`-th boundary: up to the commands
 * of the workflow task that crossed it, before the next timer fires.
 */
function cutAfter(events: readonly HistoryEvent[], boundaries: number): HistoryEvent[] {
  const fired = events.flatMap((event, index) => (event.eventType === EventType.EVENT_TYPE_TIMER_FIRED ? [index] : []));
  const boundaryAt = fired[boundaries - 1];
  if (boundaryAt === undefined) throw new Error(`${RECORDED_RUN} crosses ${fired.length} boundaries, not ${boundaries}`);
  const completed = events.findIndex((event, index) => index > boundaryAt && event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (completed < 0) throw new Error(`${RECORDED_RUN}: no workflow task completed after boundary ${boundaries}`);
  let end = completed + 1;
  const nextTaskOrTimer = new Set([EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]);
  while (end < events.length && !nextTaskOrTimer.has(events[end]?.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED)) end++;
  return events.slice(0, end);
}

async function replayCpuMs(workflowBundle: { code: string }, events: HistoryEvent[], replays: number): Promise<number> {
  const histories = Array.from({ length: replays }, (_, index) => ({ workflowId: `replay-${events.length}-${index}`, history: { events } }));
  const before = process.cpuUsage();
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) throw new Error(`the recorded run, cut at ${events.length} events, did not replay: ${result.error.message}`);
    replayed++;
  }
  const used = process.cpuUsage(before);
  if (replayed !== replays) throw new Error(`${replayed} of ${replays} replays reported`);
  return (used.user + used.system) / 1000 / replays;
}

export const workflowReplayBenchmarks: Benchmark[] = [
  {
    name: 'workflow.replay',
    description: "a boundary's replay of an account's run by the periods it crossed: worker CPU per replay after 1, 4, 12 and 23 periods (BENCH_REPLAYS 200)",
    run: async (context): Promise<Figure[]> => {
      if (Runtime._instance === undefined) Runtime.install({ logger: new DefaultLogger('WARN') });
      const replays = envInt('BENCH_REPLAYS', 200);
      const recorded = proto.temporal.api.history.v1.History.decode(readFileSync(RECORDED_RUN)).events;
      const workflowBundle = await bundleWorkflowsApart();
      // One round first, so that the bundle's code is compiled before anything is measured.
      await replayCpuMs(workflowBundle, cutAfter(recorded, 1), Math.min(replays, 20));
      const figures: Figure[] = [];
      const perReplay = new Map<number, number>();
      for (const boundaries of CUT_AFTER_BOUNDARIES) {
        const events = cutAfter(recorded, boundaries);
        const cpuMs = await replayCpuMs(workflowBundle, events, replays);
        perReplay.set(boundaries, cpuMs);
        context.log(`workflow.replay: ${boundaries} period(s), ${events.length} events: ${cpuMs.toFixed(2)} ms of CPU per replay (${replays} replays)`);
        figures.push({ metric: `cpu_ms_${boundaries}_periods`, value: round(cpuMs, 2), unit: 'ms' }, { metric: `events_${boundaries}_periods`, value: events.length, unit: 'events' });
      }
      const first = perReplay.get(1) ?? Number.NaN;
      const last = perReplay.get(23) ?? Number.NaN;
      figures.push({ metric: 'cpu_ms_per_period', value: round((last - first) / 22, 2), unit: 'ms' });
      return figures;
    },
  },
];
