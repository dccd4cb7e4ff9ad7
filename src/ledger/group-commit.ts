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

  /** The batch's accounts and slot are free again: the next batch goes before this one's callers are answered. */
  function release(batch: Waiting<I, O>[]): void {
    for (const waiting of batch) accountsInFlight.delete(waiting.item.accountId);
    batchesInFlight--;
    schedule();
  }

  async function settle(batch: Waiting<I, O>[]): Promise<void> {
    let outcomes: O[];
    try {
      outcomes = await runBatch(batch.map((waiting) => waiting.item));
      if (outcomes.length !== batch.length) throw new Error(`invariant: a batch of ${batch.length} answered ${outcomes.length} outcomes`);
    } catch (error) {
      await settleOneByOne(batch, error);
      release(batch);
      return;
    }
    // The database is given the next batch before the callers of this one run their continuations
    // (an HTTP answer each), so that it works while they do.
    release(batch);
    batch.forEach((waiting, index) => {
      waiting.resolve(outcomes[index] as O);
    });
  }

  /** After a batch failed as a whole, each item runs again alone, in order, so that one bad item fails only its own caller. */
  async function settleOneByOne(batch: Waiting<I, O>[], batchError: unknown): Promise<void> {
    if (batch.length === 1) {
      batch[0]?.reject(batchError);
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

  function schedule(): void {
    while (batchesInFlight < options.maxBatchesInFlight) {
      const batch = nextBatch();
      if (batch.length === 0) return;
      batchesInFlight++;
      void settle(batch);
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
