/**
 * The GraphiQL page, self-contained: graphql-yoga's default page loads GraphiQL's scripts from a
 * public CDN, which an air-gapped cluster (or a CI machine) cannot reach. This one inlines them
 * (@graphql-yoga/render-graphiql, ~9 MB), so GraphiQL works wherever the gateway does.
 *
 * The page depends only on the gateway's own GraphiQL options, so it is rendered once per
 * distinct options and reused; the table is bounded because nothing in it comes from a client.
 * The bundle is loaded on the first page view, not at start-up: it costs ~30 MB of heap
 * (~70 MB RSS) that a gateway nobody opens GraphiQL on should not carry.
 *
 * Compressing 9 MB costs seconds of CPU, so it is never done per request: each encoding (br,
 * gzip) is made once, on the first view that asks for it, and its buffer kept. Every answer
 * carries an ETag (one per encoding, all naming the same page) and `Cache-Control: no-cache`,
 * so a browser revalidates and gets a bodiless 304 while the page is unchanged.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { renderGraphiQL as RenderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import { negotiateEncoding, type Encoding } from '../plugins/use-compression.js';

type GraphiQLRenderOptions = Parameters<typeof RenderGraphiQL>[0];

let renderer: Promise<typeof RenderGraphiQL> | undefined;

const MAX_PAGES = 4;

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Brotli quality 5: within ~15% of the best size at a tenth of the time of quality 11 (measured on this page). */
const BROTLI_QUALITY = 5;

/** One rendered page and the encodings made of it so far. */
export class GraphiQLPage {
  readonly html: string;
  readonly identity: Buffer;
  /** The page's validator; encodings add a suffix, since each is a different representation (RFC 9110 §8.8.3). */
  readonly etag: string;
  readonly #encoded = new Map<Encoding, Promise<Buffer>>();

  constructor(html: string) {
    this.html = html;
    this.identity = Buffer.from(html, 'utf8');
    this.etag = `"${createHash('sha256').update(this.identity).digest('base64url').slice(0, 27)}"`;
  }

  etagFor(enc: Encoding | undefined): string {
    return enc ? `${this.etag.slice(0, -1)}-${enc}"` : this.etag;
  }

  /** The body in `enc`, compressed on first use (off the event loop, in zlib's thread pool). */
  encoded(enc: Encoding): Promise<Buffer> {
    let body = this.#encoded.get(enc);
    if (!body) {
      body = enc === 'br'
        ? brotliAsync(this.identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: this.identity.length } })
        : gzipAsync(this.identity, { level: 9 });
      // A failed compression is retried by the next view rather than remembered.
      body.catch(() => this.#encoded.delete(enc));
      this.#encoded.set(enc, body);
    }
    return body;
  }

  /**
   * True when an `If-None-Match` value names this page in any of its encodings (weak
   * comparison, as RFC 9110 §13.1.2 prescribes for If-None-Match).
   */
  matches(ifNoneMatch: string | null): boolean {
    if (!ifNoneMatch) return false;
    if (ifNoneMatch.trim() === '*') return true;
    const opaque = this.etag.slice(1, -1);
    for (const raw of ifNoneMatch.split(',')) {
      const tag = raw.trim().replace(/^W\//, '');
      if (tag === this.etag || tag === `"${opaque}-br"` || tag === `"${opaque}-gzip"`) return true;
    }
    return false;
  }
}

const pages = new Map<string, Promise<GraphiQLPage>>();

/** The page for these options, rendered on first use and kept. */
export function graphiqlPage(opts?: GraphiQLRenderOptions): Promise<GraphiQLPage> {
  const key = JSON.stringify(opts ?? {});
  let page = pages.get(key);
  if (!page) {
    renderer ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL);
    page = renderer.then((render) => new GraphiQLPage(render(opts)));
    page.catch(() => pages.delete(key));
    if (pages.size >= MAX_PAGES) pages.delete(pages.keys().next().value!);
    pages.set(key, page);
  }
  return page;
}

/** Requests yoga would answer with GraphiQL: a GET from something that reads HTML. */
function wantsGraphiQL(request: Request): boolean {
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * Serves GraphiQL in place of yoga's own plugin (whose page would be compressed anew by the
 * compression hook on every view): precompressed body, ETag, 304 on a matching If-None-Match.
 */
export function useGraphiQLPage(opts: GraphiQLRenderOptions): YogaPlugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (!wantsGraphiQL(request)) return;
      return graphiqlPage(opts).then(async (page) => {
        const enc = negotiateEncoding(request.headers.get('accept-encoding') ?? undefined);
        const headers: Record<string, string> = {
          'content-type': 'text/html; charset=utf-8',
          etag: page.etagFor(enc),
          'cache-control': 'no-cache',
          vary: 'Accept-Encoding',
        };
        if (page.matches(request.headers.get('if-none-match'))) {
          endResponse(new fetchAPI.Response(null, { status: 304, headers }));
          return;
        }
        const body = enc ? await page.encoded(enc) : page.identity;
        if (enc) headers['content-encoding'] = enc;
        headers['content-length'] = String(body.length);
        endResponse(new fetchAPI.Response(new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength), { status: 200, headers }));
      });
    },
  };
}
