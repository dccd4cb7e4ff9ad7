#!/usr/bin/env node
// `npx credits …`: the operator CLI as a package bin. The sources are TypeScript that tsx runs with
// no build step (as `npm run api` and `npm run worker` do), so this registers tsx's loader,
// resolved from this package whatever the working directory, and then loads the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
