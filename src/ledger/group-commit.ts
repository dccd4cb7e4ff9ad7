/**
 * Group commit: concurrent operations are coalesced into one transaction per batch. Per account,
 * what arrives while a batch with that account is in flight forms the next batch (one lock, one
 * commit for all of them); a batch may hold several accounts, up to a bounded size. An operation
 * that arrives while nothing of its account is in flight and a batch slot is free goes at once: a
 * lone charge waits for nothing. Batches are per process, so correctness never depends on one
 * process seeing every charge: the database locks and keys decide, as they do for single calls.
 */

export interface GroupCommitOptions {
  /** Most operations in one batch (one transaction). */
  maxBatchItems: number;
  /** Most batches in flight at once (each holds one connection). */
  maxBatchesInFlight: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxBatchItems: 256, maxBatchesInFlight: 4 };

interface Waiting<I, O> {
  item: I;
  resolve: (outcome: O) => void;
  reject: (error: unknown) => void;
}

/**
 * `runBatch` runs the items of one batch in arrival order, in one transaction, and answers one
 * outcome per item, in order. When it fails as a whole (an unexpected error), each item of the batch
 * is run again on its own, so that one bad item fails only its own caller.
 */
export function createGroupCommit<I extends { accountId: string }, O>(runBatch: (items: I[]) => Promise<O[]>, options: GroupCommitOptions = DEFAULT_GROUP_COMMIT) {
  if (options.maxBatchItems < 1 || options.maxBatchesInFlight < 1) throw new RangeError('a group commit needs room for one item and one batch');
  const pending = new Map<string, Waiting<I, O>[]>();
  const accountsInFlight = new Set<string>();
  let batchesInFlight = 0;

  function nextBatch(): Waiting<I, O>[] {
    const batch: Waiting<I, O>[] = [];
    for (const [accountId, queue] of pending) {
      if (batch.length === options.maxBatchItems) break;
      if (accountsInFlight.has(accountId)) continue;
      const taken = queue.splice(0, options.maxBatchItems - batch.length);
      batch.push(...taken);
      accountsInFlight.add(accountId);
      if (queue.length === 0) pending.delete(accountId);
    }
    return batch;
  }

  async function settle(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outcomes = await runBatch(batch.map((waiting) => waiting.item));
      if (outcomes.length !== batch.length) throw new Error(`invariant: a batch of ${batch.length} answered ${outcomes.length} outcomes`);
      batch.forEach((waiting, index) => {
        waiting.resolve(outcomes[index] as O);
      });
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const waiting of batch) {
        try {
          const [outcome] = await runBatch([waiting.item]);
          waiting.resolve(outcome as O);
        } catch (alone) {
          waiting.reject(alone);
        }
      }
    }
  }

  function schedule(): void {
    while (batchesInFlight < options.maxBatchesInFlight) {
      const batch = nextBatch();
      if (batch.length === 0) return;
      batchesInFlight++;
      void settle(batch).finally(() => {
        for (const waiting of batch) accountsInFlight.delete(waiting.item.accountId);
        batchesInFlight--;
        schedule();
      });
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        const queue = pending.get(item.accountId);
        if (queue) queue.push({ item, resolve, reject });
        else pending.set(item.accountId, [{ item, resolve, reject }]);
        schedule();
      });
    },
  };
}
