import { Command, Option } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { loadConfig, requireDatabaseUrl } from '../config.js';
import { USAGE_GROUPS } from '../contract/fields.js';
import { JOB_STATUSES } from '../contract/job-status.js';
import { createPool } from '../ledger/db.js';
import { createLedger } from '../ledger/ledger.js';
import { migrate } from '../ledger/migrate.js';
import { DEFAULT_API_URL, DEV_TOKEN_FILE, reportFailure } from './api.js';
import { creditsArg, instantArg, nonNegativeIntegerArg, positiveIntegerArg } from './args.js';
import * as api from './commands.js';

const program = new Command()
  .name('credits')
  .description('Operator commands for the Credits billing engine')
  .showHelpAfterError()
  // Usage errors exit 2 (see reportFailure), API errors 1.
  .exitOverride();

/** A command that talks to the HTTP API: --api, --token and --json. */
function apiCommand(name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--api <url>', `API base URL (env CREDITS_API_URL, default ${DEFAULT_API_URL})`)
    .option('--token <token>', `API bearer token (env CREDITS_API_TOKEN, or the dev stack's ${DEV_TOKEN_FILE})`)
    .option('--json', "print the API's JSON instead of a table");
}

apiCommand('balance', 'plan, seats, status, period and balance of an account')
  .argument('<accountId>')
  .action(api.balance);

apiCommand('grants', "an account's grants: amounts, remaining, held, expiry and priority")
  .argument('<accountId>')
  .action(api.grants);

apiCommand('ledger', "an account's ledger entries, a page at a time")
  .argument('<accountId>')
  .option('--after <entryId>', 'start after this entry id', nonNegativeIntegerArg)
  .option('--limit <n>', 'entries per page', positiveIntegerArg)
  .option('--all', 'page through every entry')
  .action(api.ledger);

apiCommand('usage', "an account's usage over a range")
  .argument('<accountId>')
  .requiredOption('--from <iso>', 'start of the range, such as 2026-01-01T00:00:00Z or 2026-01-01', instantArg)
  .requiredOption('--to <iso>', 'end of the range (exclusive)', instantArg)
  .addOption(new Option('--by <group>', 'group by').choices(USAGE_GROUPS).default('feature'))
  .action(api.usage);

apiCommand('top-up', 'buy credits for an account, as one of its admins')
  .argument('<accountId>')
  .argument('<credits>', 'credits to add, such as 50 or 0.5', creditsArg)
  .requiredOption('--user <userId>', 'the admin buying them')
  .option('--key <idempotencyKey>', 'idempotency key; one is generated and printed if not given')
  .option('--expires <iso>', 'when the credits expire (never by default)', instantArg)
  .action(api.topUp);

apiCommand('add-credits', 'as an operator, add promo or adjustment credits to an account')
  .argument('<accountId>')
  .argument('<credits>', 'credits to add, such as 50 or 0.5', creditsArg)
  .requiredOption('--operator <who>', 'who does it')
  .requiredOption('--reason <why>', 'why, for the ledger')
  .addOption(new Option('--source <source>', 'kind of credits').choices(['promo', 'adjustment']).default('adjustment'))
  .option('--expires <iso>', 'when the credits expire (never by default)', instantArg)
  .option('--features <ids>', 'comma-separated features the credits may pay for (all by default)')
  .option('--key <idempotencyKey>', 'idempotency key; one is generated and printed if not given')
  .action(api.addCredits);

apiCommand('remove-credits', "as an operator, remove credits from one of an account's grants (never below zero, never held credits)")
  .argument('<accountId>')
  .argument('<grantId>')
  .argument('<credits>', 'credits to remove', creditsArg)
  .requiredOption('--operator <who>', 'who does it')
  .requiredOption('--reason <why>', 'why, for the ledger')
  .option('--key <idempotencyKey>', 'idempotency key; one is generated and printed if not given')
  .action(api.removeCredits);

apiCommand('refund', 'refund a charge in full, or in part with --credits')
  .argument('<accountId>')
  .argument('<chargeId>')
  .option('--credits <credits>', 'credits to refund (all that is left by default)', creditsArg)
  .requiredOption('--operator <who>', 'who does it')
  .requiredOption('--reason <why>', 'why, for the ledger')
  .option('--key <idempotencyKey>', 'idempotency key; one is generated and printed if not given')
  .action(api.refund);

apiCommand('contract', "show an account's contract terms, or set them with --operator and --reason")
  .argument('<accountId>')
  .option('--allowance <credits>', "the account's own allowance per period, in place of the plan's", creditsArg)
  .option('--per-seat', 'the allowance is per seat')
  .option('--features <ids>', 'comma-separated extra features on top of the plan')
  .addOption(new Option('--effective <when>', 'from when').choices(['now', 'next_period']).default('next_period'))
  .option('--operator <who>', 'who sets it (setting needs --operator and --reason)')
  .option('--reason <why>', 'why, for the ledger')
  .option('--key <idempotencyKey>', 'idempotency key; one is generated and printed if not given')
  .action(api.contract);

apiCommand('jobs', "an account's jobs, newest first")
  .argument('<accountId>')
  .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
  .option('--limit <n>', 'at most this many jobs', positiveIntegerArg)
  .action(api.jobs);

apiCommand('job', 'status, pause reason, progress and credits of a job')
  .argument('<jobId>')
  .option('--watch', 'follow its progress until it completes, is cancelled, fails or pauses')
  .action(api.job);

apiCommand('resume', 'resume a job paused for lack of credits').argument('<jobId>').action(api.resume);

apiCommand('cancel', 'cancel a job; the credits it still holds are released').argument('<jobId>').action(api.cancel);

program
  .command('migrate')
  .description('apply pending ledger migrations to DATABASE_URL')
  .action(async () => {
    const applied = await migrate(requireDatabaseUrl(loadConfig()));
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'ledger schema is up to date\n');
  });

program
  .command('audit')
  .description('recompute every grant and hold from the ledger entries and report any difference')
  .option('--account <accountId>', 'audit one account only')
  .option('--json', 'print the report as JSON')
  .action(async (options: { account?: string; json?: boolean }) => {
    const config = loadConfig();
    // A whole ledger's audit may take longer than one request's statement limit.
    const pool = createPool({ connectionString: requireDatabaseUrl(config), max: 2, statementTimeoutMs: 0 });
    try {
      const ledger = createLedger({ pool, catalog: loadCatalog(config.catalogPath) });
      const report = await ledger.audit(options.account === undefined ? {} : { accountId: options.account });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        const { accounts, grants, holds, operations, entries } = report.checked;
        process.stdout.write(`checked ${accounts} accounts, ${grants} grants, ${holds} holds, ${operations} operations, ${entries} entries\n`);
        for (const problem of report.problems) {
          process.stdout.write(`PROBLEM ${problem.check} account=${problem.accountId} ${problem.subject}: ${problem.detail}\n`);
        }
        process.stdout.write(report.ok ? 'audit clean\n' : `audit found ${report.problems.length} problem(s)\n`);
      }
      process.exitCode = report.ok ? 0 : 1;
    } finally {
      await pool.end();
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.exitCode = reportFailure(error);
});
