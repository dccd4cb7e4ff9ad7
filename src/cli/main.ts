import { Command, Option } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { loadConfig } from '../config.js';
import { API_SCOPES, ENTRY_KINDS, GRANT_SOURCES, GRANT_STATUSES, USAGE_GROUPS } from '../contract/fields.js';
import { JOB_STATUSES } from '../contract/job-status.js';
import { SESSION_TOKEN_LIMITS } from '../contract/limits.js';
import { createPool } from '../ledger/db.js';
import { createLedger } from '../ledger/ledger.js';
import { migrate } from '../ledger/migrate.js';
import { DEFAULT_API_URL, DEV_TOKEN_FILE, reportFailure } from './api.js';
import { creditsArg, instantArg, nonNegativeIntegerArg, positiveIntegerArg } from './args.js';
import { ledgerDatabase } from './database.js';
import * as api from './commands.js';
import * as explorer from './ledger-commands.js';

const program = new Command()
  .name('credits')
  .description('Operator commands for the Credits billing engine')
  .showHelpAfterError()
  // Usage errors exit 2 (see reportFailure), API errors 1.
  .exitOverride();

/** A command that talks to the HTTP API: --api, --token and --json. */
function apiCommand(name: string, description: string, parent: Command = program): Command {
  return parent
    .command(name)
    .description(description)
    .option('--api <url>', `API base URL (env CREDITS_API_URL, default ${DEFAULT_API_URL})`)
    .option('--token <token>', `API bearer token (env CREDITS_API_TOKEN, or the dev stack's ${DEV_TOKEN_FILE})`)
    .option('--json', "print the API's JSON instead of a table");
}

apiCommand('balance', 'plan, seats, status, period and balance of an account')
  .argument('<accountId>')
  .action(api.balance);

/** The explorer's filters of causes, on `ledger` and `charges`. */
function causeFilters(command: Command): Command {
  return command
    .option('--feature <featureId>', 'only this feature')
    .option('--user <userId>', 'only this user')
    .option('--job <jobId>', 'only this job')
    .option('--grant <grantId>', 'only this grant')
    .option('--from <iso>', 'from this instant, such as 2026-01-05T08:38:18Z or 2026-01-05', instantArg)
    .option('--to <iso>', 'before this instant', instantArg);
}

function paging(command: Command, what: string): Command {
  return command
    .option('--after <id>', `start after this ${what} id`, nonNegativeIntegerArg)
    .option('--limit <n>', `${what}s per page`, positiveIntegerArg)
    .option('--all', `page through every ${what}`);
}

const argv = (): string[] => process.argv.slice(2);

paging(apiCommand('grants', 'every grant of an account, whatever its status: amounts, remaining, held, expired, when in effect, expiry'), 'grant')
  .argument('<accountId>')
  .addOption(new Option('--status <status>', 'only grants in this status').choices(GRANT_STATUSES))
  .addOption(new Option('--source <source>', 'only grants from this source').choices(GRANT_SOURCES))
  .action((accountId: string, options: explorer.GrantsOptions) => explorer.grants(accountId, options, argv()));

causeFilters(paging(apiCommand('ledger', "an account's ledger entries with why each happened, a page at a time"), 'entry'))
  .argument('<accountId>')
  .addOption(new Option('--kind <kind>', 'only entries of this kind').choices(ENTRY_KINDS))
  .option('--operation <operationId>', 'only the entries of this operation (a charge id, say)')
  .action((accountId: string, options: explorer.LedgerOptions) => explorer.ledger(accountId, options, argv()));

causeFilters(paging(apiCommand('charges', "an account's charges, each with the grants that paid for it and what was refunded"), 'charge'))
  .argument('<accountId>')
  .option('--charge <chargeId>', 'only this charge')
  .action((accountId: string, options: explorer.ChargesOptions) => explorer.charges(accountId, options, argv()));

apiCommand('statement', "a period's statement: opening balance, grants, charges by feature and user, refunds, adjustments, expiries, holds, closing balance")
  .argument('<accountId>')
  .option('--period <when>', '`current`, or any instant of the period, such as its start (default: current)')
  .action(explorer.statement);

apiCommand('usage', "an account's usage over a range (its current period by default)")
  .argument('<accountId>')
  .option('--from <iso>', "start of the range, such as 2026-01-01T00:00:00Z or 2026-01-01 (default: the current period's start)", instantArg)
  .option('--to <iso>', "end of the range, exclusive (default: the current period's end)", instantArg)
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

apiCommand('job', 'status, pause reason, progress and credits of a job, or with --records its records')
  .argument('<jobId>')
  .addOption(new Option('--watch', 'follow its progress until it completes, is cancelled, fails or pauses').conflicts('records'))
  .option('--records', "list its records' outcomes and what each was charged, a page at a time")
  .option('--after <seq>', 'with --records: start after this record seq', nonNegativeIntegerArg)
  .option('--limit <n>', 'with --records: records per page', positiveIntegerArg)
  .action(api.job);

apiCommand('resume', 'resume a job paused for lack of credits').argument('<jobId>').action(api.resume);

apiCommand('cancel', 'cancel a job; the credits it still holds are released').argument('<jobId>').action(api.cancel);

const token = program.command('token').description('API tokens an admin mints: create one with a scope, list them, revoke one');

apiCommand('create', 'mint an API token; it is printed this once (only its hash is kept)', token)
  .addOption(new Option('--scope <scope>', 'admin: everything; service: charges, estimates, jobs, top-ups, session tokens, reads; read: reads').choices(API_SCOPES).makeOptionMandatory())
  .requiredOption('--name <name>', 'what the token is for, shown in the list')
  .action(api.createToken);

apiCommand('list', 'the minted tokens, revoked ones too (never the tokens themselves)', token).action(api.listTokens);

apiCommand('revoke', 'revoke a minted token: refused from now on', token).argument('<tokenId>').action(api.revokeToken);

apiCommand('session-token', "mint a short-lived token for one account's browser: its reads, and with --top-up a top-up by --user")
  .argument('<accountId>')
  .option('--user <userId>', 'the user it acts for (needed with --top-up; they must be an admin of the account to buy)')
  .option('--top-up', 'it may also buy a top-up for the account, as --user')
  .option('--expires-in <seconds>', `seconds it lasts (${SESSION_TOKEN_LIMITS.defaultSeconds} by default, at most ${SESSION_TOKEN_LIMITS.maxSeconds})`, positiveIntegerArg)
  .action(api.sessionToken);

program
  .command('migrate')
  .description("apply pending ledger migrations to DATABASE_URL (or the running dev stack's database)")
  .action(async () => {
    const applied = await migrate(ledgerDatabase(loadConfig().databaseUrl).url);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'ledger schema is up to date\n');
  });

program
  .command('audit')
  .description("recompute every grant and hold from the ledger entries and report any difference (DATABASE_URL, or the running dev stack's database)")
  .option('--account <accountId>', 'audit one account only')
  .option('--json', 'print the report as JSON')
  .action(async (options: { account?: string; json?: boolean }) => {
    const config = loadConfig();
    const database = ledgerDatabase(config.databaseUrl);
    // A whole ledger's audit may take longer than one request's statement limit.
    const pool = createPool({ connectionString: database.url, max: 2, statementTimeoutMs: 0 });
    try {
      const ledger = createLedger({ pool, catalog: loadCatalog(config.catalogPath) });
      const report = await ledger.audit(options.account === undefined ? {} : { accountId: options.account });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        const { accounts, grants, holds, operations, entries } = report.checked;
        if (database.devStackFile !== null) process.stdout.write(`auditing the dev stack's database (from ${database.devStackFile})\n`);
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
