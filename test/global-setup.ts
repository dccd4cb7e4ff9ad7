import type { TestProject } from 'vitest/node';
import { createDatabase, startEmbeddedPostgres } from '../src/devstack/postgres.js';
import { migrate } from '../src/ledger/migrate.js';
import { TEMPLATE_DATABASE } from './support/constants.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresServerUrl: string;
  }
}

/**
 * One real PostgreSQL server for the whole run (embedded, or DATABASE_URL's server, whose role
 * then needs CREATEDB), and a migrated template that each test file copies into its own database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.DATABASE_URL;
  const server = external ? undefined : await startEmbeddedPostgres({ unsafeFast: true });
  const serverUrl = external ?? server?.url ?? '';
  const templateUrl = await createDatabase(serverUrl, TEMPLATE_DATABASE);
  await migrate(templateUrl);
  project.provide('postgresServerUrl', serverUrl);
  return async () => {
    await server?.stop();
  };
}
