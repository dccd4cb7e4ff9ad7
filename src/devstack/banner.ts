/**
 * What `npm run dev` prints once the stack is up: where everything is, the token, and commands to
 * paste. Every command it shows works on this stack: the demo's only when the demo was seeded;
 * without it, commands on the catalog's own plans.
 */
import { DEMO } from './demo.js';
import type { DevStack } from './dev.js';
import { DEFAULT_DATA_DIR } from './state.js';

export type BannerStack = Pick<DevStack, 'urls' | 'token' | 'tokenFile' | 'dataDir' | 'ports' | 'portNotes' | 'demo' | 'demoSkipped' | 'planIds'>;

/** The account the banner shows how to open when there is no demo. */
export const FIRST_ACCOUNT_ID = 'my-first-account';

const quote = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);

export function banner(stack: BannerStack, startedInMs: number): string {
  const { urls, demo } = stack;
  const inRepo = stack.dataDir === DEFAULT_DATA_DIR;
  const tokenFrom = stack.tokenFile === null ? 'from API_TOKENS' : `from ${inRepo ? '.data/dev-token' : stack.tokenFile}`;
  // The CLI finds the API on localhost:3000, the token in .data/dev-token and the database through
  // .data/dev-stack.json; anything else it is told.
  const cliEnv = [
    ...(stack.ports.api === 3000 ? [] : [`CREDITS_API_URL=${urls.api}`]),
    ...(stack.tokenFile !== null && inRepo ? [] : [`CREDITS_API_TOKEN=${quote(stack.token)}`]),
  ].join(' ');
  const cli = (args: string, env = cliEnv): string => `${env === '' ? '' : `${env} `}npx credits ${args}`;
  const auditEnv = inRepo ? '' : `CREDITS_DEV_DATA_DIR=${quote(stack.dataDir)}`;
  const auth = `-H ${quote(`Authorization: Bearer ${stack.token}`)}`;
  const post = (path: string, body: unknown): string => `curl -s ${auth} -H 'Content-Type: application/json' -d ${quote(JSON.stringify(body))} ${urls.api}${path}`;
  const row = (label: string, value: string): string => `  ${label.padEnd(16)}${value}`;
  const lines = [
    '',
    `Credits dev stack is running (started in ${(startedInMs / 1000).toFixed(1)} s)`,
    '',
    row('API', urls.api),
    row('OpenAPI', urls.openapi),
    row('API docs', urls.docs),
    row('Console', `${urls.console} (with the API token below)`),
    row('Temporal UI', urls.temporalUi ?? '(external Temporal server: use its own Web UI)'),
    ...(urls.demoWorkflows === null ? [] : [row('Demo workflows', urls.demoWorkflows)]),
    row('Temporal', `${urls.temporalAddress}${stack.ports.temporal === null ? ' (TEMPORAL_ADDRESS)' : ''}`),
    row('PostgreSQL', `${urls.database}${stack.ports.postgres === null ? ' (DATABASE_URL)' : ''}`),
    row('Data', `${stack.dataDir} (kept across restarts)`),
    row('API token', `${stack.token} (${tokenFrom})`),
    ...stack.portNotes.map((note) => row('Note', note)),
    '',
  ];
  if (demo) {
    lines.push(
      `Demo: account "${demo.accountId}" (plan ${DEMO.planId}, ${DEMO.seats} seats, admin user "${DEMO.adminUserId}", trial) ${demo.accountCreated ? 'created' : 'already there'};`,
      `      bulk job "${demo.jobId}" (${DEMO.records} leads, ${DEMO.feature}: 5 credits per deliverable or risky result) ${demo.jobCreated ? 'started' : 'already there'}.`,
      `      Users: "${DEMO.accountId}" refuses a spend by a user it has not registered (404 UNKNOWN_USER, nothing charged);`,
      `      "${DEMO.openAccountId}" (1 seat) registers them as members on their first spend.`,
      ...demo.notes.map((note) => `      Note: ${note}`),
      '',
    );
    const newcomerCharge = (accountId: string) => post(`/v1/accounts/${accountId}/charges`, { feature: DEMO.chargeFeature, userId: 'newcomer', idempotencyKey: `try-${accountId}` });
    lines.push(
      'Try:',
      `  curl -s ${auth} ${urls.api}/v1/accounts/${DEMO.accountId}`,
      `  curl -s ${auth} ${urls.api}/v1/jobs/${DEMO.jobId}`,
      `  ${newcomerCharge(DEMO.accountId)}   # 404 UNKNOWN_USER`,
      `  ${newcomerCharge(DEMO.openAccountId)}   # 201: "newcomer" is registered`,
      `  curl -s ${auth} ${urls.api}/v1/accounts/${DEMO.openAccountId}/users`,
      `  ${cli(`balance ${DEMO.accountId}`)}`,
      `  ${cli(`job ${DEMO.jobId} --watch`)}`,
      `  ${cli(`top-up ${DEMO.accountId} 100 --user ${DEMO.adminUserId}`)}`,
    );
  } else {
    lines.push(stack.demoSkipped === null ? 'Demo: off (CREDITS_DEV_SEED=0).' : `Demo: skipped, ${stack.demoSkipped} (CREDITS_DEV_SEED=0 turns the demo off).`, '');
    const plan = stack.planIds[0];
    lines.push(
      'Try:',
      `  curl -s ${auth} ${urls.api}/v1/catalog`,
      ...(plan === undefined
        ? ['  (the catalog has no plan: add one to open an account)']
        : [
            `  ${post('/v1/accounts', { accountId: FIRST_ACCOUNT_ID, planId: plan, users: [{ userId: 'admin', role: 'admin' }] })}   # 201: an account on plan ${plan}`,
            `  ${cli(`balance ${FIRST_ACCOUNT_ID}`)}   # once it is open`,
          ]),
    );
  }
  lines.push(`  ${cli('audit', auditEnv)}`, '', `Press Ctrl-C to stop everything (the data stays in ${inRepo ? '.data/' : stack.dataDir}).`, '');
  return lines.join('\n');
}
