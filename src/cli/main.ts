import { Command } from 'commander';
import { loadCatalog } from '../catalog/catalog.js';
import { loadConfig, requireDatabaseUrl } from '../config.js';
import { createPool } from '../ledger/db.js';
import { createLedger } from '../ledger/ledger.js';
import { migrate } from '../ledger/migrate.js';

const program = new Command()
  .name('credits')
  .description('Operator commands for the Credits billing engine')
  .showHelpAfterError();

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
    const pool = createPool({ connectionString: requireDatabaseUrl(config), max: 2 });
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
  process.stderr.write(`credits: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
