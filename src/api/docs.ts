import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ApiApp } from './context.js';
import { ApiError } from './errors.js';

/**
 * The browsable API reference at /docs: Swagger UI from the pinned `swagger-ui-dist` package,
 * its script and stylesheet served by the API itself under /docs/assets/, so the page works with
 * no network and always shows the version the lockfile names. Its Content-Security-Policy lets the
 * browser load nothing from anywhere else, so a dependency that starts fetching from a CDN shows
 * up as a blocked load instead of a page that works only online.
 */

const ASSET_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The files the page loads, by the name they are served under, with their content types. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

export const DOCS_ASSET_PREFIX = '/docs/assets/';

// validatorUrl: null, or Swagger UI sends the document to validator.swagger.io for a badge.
const INIT_SCRIPT = `SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, validatorUrl: null, presets: [SwaggerUIBundle.presets.apis] });`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Credits API</title>
    <link rel="stylesheet" href="${DOCS_ASSET_PREFIX}swagger-ui.css" />
    <link rel="icon" type="image/png" href="${DOCS_ASSET_PREFIX}favicon-32x32.png" />
  </head>
  <body>
    <div id="docs"></div>
    <script src="${DOCS_ASSET_PREFIX}swagger-ui-bundle.js"></script>
    <script>${INIT_SCRIPT}</script>
  </body>
</html>
`;

/**
 * Only this origin; the one inline script by its hash. Styles allow 'unsafe-inline' because Swagger
 * UI (React) sets style attributes; images allow data: URLs, which its stylesheet uses for icons.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(INIT_SCRIPT).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Read on first request (the bundle is about 1.5 MB), then kept: they change only with the package. */
const loaded = new Map<string, Buffer>();

function asset(name: string): Buffer {
  let body = loaded.get(name);
  if (body === undefined) {
    body = readFileSync(path.join(ASSET_DIR, name));
    loaded.set(name, body);
  }
  return body;
}

export function docsRoutes(app: ApiApp): void {
  app.get('/docs', (c) => c.html(PAGE, 200, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY }));
  app.get(`${DOCS_ASSET_PREFIX}:name`, (c) => {
    const name = c.req.param('name');
    const contentType = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (contentType === undefined) throw new ApiError('NOT_FOUND', `no docs asset "${name}"`);
    return c.body(new Uint8Array(asset(name)), 200, { 'Content-Type': contentType, 'Cache-Control': 'public, max-age=3600' });
  });
}
