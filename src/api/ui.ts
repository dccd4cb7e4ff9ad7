import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Context } from 'hono';
import type { ApiApp, AppEnv } from './context.js';

/**
 * The operator console at /console and the balance widget at /widget/credits-balance.js: TypeScript
 * and Lit under src/ui/, bundled by esbuild in this process the first time each is asked for and
 * kept in memory. Bundled here rather than by an install script so that what is served is always
 * the source the process runs, as tsx does for the server: no build step before `npm test` or `npm
 * run api` on a fresh clone, no build output to keep in step or out of git, nothing written to disk
 * (the image runs as a user that cannot write /app), and an API whose console nobody opens never
 * spends the tenth of a second. Everything is served by the API itself, so both work with no
 * network, and the console's Content-Security-Policy lets its page load nothing from anywhere else.
 */

const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

export const CONSOLE_PATH = '/console';
export const CONSOLE_ASSETS = '/console/assets/';
export const WIDGET_SCRIPT_PATH = '/widget/credits-balance.js';

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  etag: string;
}

// Copied once into a plain ArrayBuffer-backed array: what a response body takes (a Buffer may share a pool).
const asset = (contents: Uint8Array, contentType: string): Asset => ({
  body: new Uint8Array(contents),
  contentType,
  etag: `"${createHash('sha256').update(contents).digest('base64url').slice(0, 27)}"`,
});

/**
 * One bundle per entry, built once per process. A failed build is not kept: the next request tries
 * again (and the failure is the route's 500, logged with the request id).
 */
function bundled(entry: string): () => Promise<Asset> {
  let pending: Promise<Asset> | undefined;
  return () => {
    pending ??= build({
      entryPoints: [`${UI_DIR}${entry}`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      // Browsers of the last few years: class fields, top-level await, import.meta, no transpiling down.
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
    }).then(
      (result) => {
        const output = result.outputFiles[0];
        if (!output) throw new Error(`esbuild produced nothing for ${entry}`);
        return asset(output.contents, 'text/javascript; charset=utf-8');
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}

const consoleScript = bundled('console/main.ts');
const widgetScript = bundled('widget/credits-balance.ts');
let consoleStyles: Asset | undefined;

const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Credits console</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${CONSOLE_ASSETS}console.css" />
    <script type="module" src="${CONSOLE_ASSETS}console.js"></script>
  </head>
  <body>
    <credits-console></credits-console>
  </body>
</html>
`;

/**
 * This origin only, and not even inline code or styles: Lit's templates need neither (its element
 * styles are constructed stylesheets, and dynamic widths are set through the CSSOM, which CSP does not
 * govern). connect-src 'self': the console calls this API and nothing else.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Revalidated on every load (a cheap 304 while unchanged), so a new release is picked up at once at its stable URL. */
function serve(c: Context<AppEnv>, served: Asset, headers: Record<string, string> = {}): Response {
  const common = { ETag: served.etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', ...headers };
  if (c.req.header('if-none-match') === served.etag) return c.body(null, 304, common);
  return c.body(served.body, 200, { 'Content-Type': served.contentType, ...common });
}

export function uiRoutes(app: ApiApp): void {
  app.get(CONSOLE_PATH, (c) => c.html(CONSOLE_PAGE, 200, { 'Content-Security-Policy': CONSOLE_CSP, 'X-Content-Type-Options': 'nosniff' }));
  app.get(`${CONSOLE_ASSETS}console.js`, async (c) => serve(c, await consoleScript()));
  app.get(`${CONSOLE_ASSETS}console.css`, (c) => {
    consoleStyles ??= asset(readFileSync(`${UI_DIR}console/console.css`), 'text/css; charset=utf-8');
    return serve(c, consoleStyles);
  });
  // A module script from another origin is fetched with CORS: any page may load the widget's code
  // (it is public); which origins may call the API with it is CREDITS_WIDGET_ORIGINS (src/api/cors.ts).
  app.get(WIDGET_SCRIPT_PATH, async (c) =>
    serve(c, await widgetScript(), { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' }),
  );
}
