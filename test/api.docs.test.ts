/**
 * The API reference at /docs works with no network: every asset the page loads (scripts,
 * stylesheets, icons) is served by the API itself, the page names no other origin, and its
 * Content-Security-Policy lets a browser load nothing from elsewhere while still running its one
 * inline script.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useApiStack } from './support/api-stack.js';

const stackOf = useApiStack();

/** The value of every attribute of the page that makes a browser fetch something. */
function referencedUrls(html: string): string[] {
  return [...html.matchAll(/<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\s(?:src|href|data|srcset)\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1] ?? '');
}

function cspDirectives(header: string | null): Map<string, string[]> {
  return new Map(
    (header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name !== undefined && name !== '')
      .map(([name, ...values]) => [name ?? '', values]),
  );
}

describe('/docs', () => {
  it('loads only assets the API itself serves, and names no other origin', async () => {
    const base = stackOf().api.url;
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();

    // No absolute URL at all: a scheme or a protocol-relative "//host" would reach the network.
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    const urls = referencedUrls(html);
    expect(urls.length, html).toBeGreaterThanOrEqual(3);
    const types = new Map<string, string>();
    for (const url of urls) {
      const resolved = new URL(url, `${base}/docs`);
      expect(resolved.origin, url).toBe(new URL(base).origin);
      const asset = await fetch(resolved);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
      types.set(resolved.pathname, asset.headers.get('content-type') ?? '');
    }
    expect([...types.values()]).toEqual(expect.arrayContaining([expect.stringMatching(/^text\/javascript/), expect.stringMatching(/^text\/css/)]));

    // The document the page renders, from this API too.
    expect(html).toContain("url: '/openapi.json'");
    const document = await fetch(`${base}/openapi.json`);
    expect(document.status).toBe(200);
    expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');

    const missing = await fetch(`${base}/docs/assets/swagger-ui-bundle.js.map`);
    expect(missing.status).toBe(404);
  });

  it('has a Content-Security-Policy that keeps the browser to this origin and allows exactly its inline script', async () => {
    const page = await fetch(`${stackOf().api.url}/docs`);
    const html = await page.text();
    const csp = cspDirectives(page.headers.get('content-security-policy'));
    expect(csp.get('default-src')).toEqual(["'self'"]);
    for (const [name, sources] of csp) {
      for (const source of sources) expect(source, `${name} ${source}`).toMatch(/^(?:'self'|'none'|'unsafe-inline'|'sha256-[A-Za-z0-9+/=]+'|data:)$/);
    }
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
    expect(inline).toHaveLength(1);
    const hash = `'sha256-${createHash('sha256').update(inline[0] ?? '').digest('base64')}'`;
    expect(csp.get('script-src')).toEqual(["'self'", hash]);
  });

  it('serves the pinned release of Swagger UI', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    const pinned = manifest.dependencies['swagger-ui-dist'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = JSON.parse(readFileSync(new URL('../node_modules/swagger-ui-dist/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(installed.version).toBe(pinned);
    const served = Buffer.from(await (await fetch(`${stackOf().api.url}/docs/assets/swagger-ui-bundle.js`)).arrayBuffer());
    expect(served.equals(readFileSync(new URL('../node_modules/swagger-ui-dist/swagger-ui-bundle.js', import.meta.url)))).toBe(true);
  });
});
