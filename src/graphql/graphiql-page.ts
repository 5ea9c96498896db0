/**
 * GraphiQL, self-contained and cacheable. graphql-yoga's default page loads GraphiQL from a
 * public CDN, which an air-gapped cluster (or a CI machine) cannot reach; its offline renderer
 * (@graphql-yoga/render-graphiql) inlines ~9 MB of script, style and web workers into the page.
 * Here the page is a small HTML document and the bundle's parts are separate files under
 * `<graphql.path>/graphiql/` (GRAPHIQL_ASSETS), so a browser downloads them once:
 *
 * - Asset URLs carry their content hash (`graphiql.js?v=<hash>`). Asked for with the current
 *   hash, an asset is `Cache-Control: public, max-age=31536000, immutable`; with another or no
 *   hash it is `no-cache`, so a stale reference revalidates instead of pinning old bytes.
 * - The page is `no-cache`: it names the current hashes, so a gateway upgraded to another
 *   GraphiQL build is picked up on the next view. Everything carries an ETag per encoding and
 *   answers a matching `If-None-Match` with a bodiless 304.
 * - Nothing is compressed per request: each body is compressed once per encoding (br, gzip), on
 *   the first request that asks for it, and the buffer is kept.
 * - The bundle is loaded on the first view or asset request, not at start-up: it costs ~30 MB
 *   of heap that a gateway nobody opens GraphiQL on should not carry.
 *
 * The page opens on `graphql.graphiql.defaultQuery` when the config sets one (the example
 * operation of the team's domain); otherwise on GraphiQL's own welcome text.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { Plugin as YogaPlugin } from 'graphql-yoga';
import type { RequestContext } from '../context.js';
import { MethodNotAllowed } from '../errors.js';
import { negotiateEncoding, type Encoding } from '../plugins/use-compression.js';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Brotli quality 5: within ~15% of the best size at a tenth of the time of quality 11 (measured on this bundle). */
const BROTLI_QUALITY = 5;

/** Cache-Control of an asset asked for by its current content hash. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** One response body, with its validator and the encodings made of it so far. */
export class StaticBody {
  readonly type: string;
  readonly identity: Buffer;
  /** Content hash (base64url), also the `v` of an asset's URL. */
  readonly hash: string;
  /** The body's validator; encodings add a suffix, since each is a different representation (RFC 9110 §8.8.3). */
  readonly etag: string;
  readonly #compressible: boolean;
  readonly #encoded = new Map<Encoding, Promise<Buffer>>();

  constructor(type: string, body: Buffer, compressible = true) {
    this.type = type;
    this.identity = body;
    this.hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    this.etag = `"${this.hash}"`;
    this.#compressible = compressible;
  }

  /** The encoding to answer with for this Accept-Encoding (none for binary bodies). */
  encodingFor(acceptEncoding: string | null): Encoding | undefined {
    return this.#compressible ? negotiateEncoding(acceptEncoding ?? undefined) : undefined;
  }

  etagFor(enc: Encoding | undefined): string {
    return enc ? `"${this.hash}-${enc}"` : this.etag;
  }

  /** The body in `enc`, compressed on first use (off the event loop, in zlib's thread pool). */
  encoded(enc: Encoding): Promise<Buffer> {
    let body = this.#encoded.get(enc);
    if (!body) {
      body = enc === 'br'
        ? brotliAsync(this.identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: this.identity.length } })
        : gzipAsync(this.identity, { level: 9 });
      // A failed compression is retried by the next request rather than remembered.
      body.catch(() => this.#encoded.delete(enc));
      this.#encoded.set(enc, body);
    }
    return body;
  }

  /**
   * True when an `If-None-Match` value names this body in any of its encodings (weak
   * comparison, as RFC 9110 §13.1.2 prescribes for If-None-Match).
   */
  matches(ifNoneMatch: string | null | undefined): boolean {
    if (!ifNoneMatch) return false;
    if (ifNoneMatch.trim() === '*') return true;
    for (const raw of ifNoneMatch.split(',')) {
      const tag = raw.trim().replace(/^W\//, '');
      if (tag === this.etag || tag === `"${this.hash}-br"` || tag === `"${this.hash}-gzip"`) return true;
    }
    return false;
  }

  /** Status, headers and body for a GET with these request headers. */
  async answer(acceptEncoding: string | null, ifNoneMatch: string | null | undefined, cacheControl: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer | undefined }> {
    const enc = this.encodingFor(acceptEncoding);
    const headers: Record<string, string> = { 'content-type': this.type, etag: this.etagFor(enc), 'cache-control': cacheControl };
    if (this.#compressible) headers.vary = 'Accept-Encoding';
    if (this.matches(ifNoneMatch)) return { status: 304, headers, body: undefined };
    const body = enc ? await this.encoded(enc) : this.identity;
    if (enc) headers['content-encoding'] = enc;
    headers['content-length'] = String(body.length);
    return { status: 200, headers, body };
  }
}

/** The separate files of the GraphiQL bundle, by file name under `<graphql.path>/graphiql/`. */
export const GRAPHIQL_ASSETS = ['graphiql.js', 'graphiql.css', 'favicon.ico', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js'] as const;
export type GraphiQLAssetName = (typeof GRAPHIQL_ASSETS)[number];

/** The Monaco worker label each worker file serves (the labels GraphiQL's editor asks for). */
const WORKER_LABELS: Readonly<Record<string, GraphiQLAssetName>> = {
  editorWorkerService: 'editor.worker.js',
  json: 'json.worker.js',
  graphql: 'graphql.worker.js',
};

let assets: Promise<ReadonlyMap<GraphiQLAssetName, StaticBody>> | undefined;

/** The bundle's parts as bodies, loaded on first use and kept. */
export function graphiqlAssets(): Promise<ReadonlyMap<GraphiQLAssetName, StaticBody>> {
  assets ??= import('@graphql-yoga/render-graphiql/graphiql').then((b) => {
    const js = 'text/javascript; charset=utf-8';
    const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(b.favicon);
    return new Map<GraphiQLAssetName, StaticBody>([
      ['graphiql.js', new StaticBody(js, Buffer.from(b.js, 'utf8'))],
      ['graphiql.css', new StaticBody('text/css; charset=utf-8', Buffer.from(b.css, 'utf8'))],
      ['favicon.ico', new StaticBody(favicon?.[1] ?? 'image/x-icon', Buffer.from(favicon?.[2] ?? '', 'base64'), false)],
      ['editor.worker.js', new StaticBody(js, Buffer.from(b.editorWorkerService, 'utf8'))],
      ['json.worker.js', new StaticBody(js, Buffer.from(b.jsonWorker, 'utf8'))],
      ['graphql.worker.js', new StaticBody(js, Buffer.from(b.graphqlWorker, 'utf8'))],
    ]);
  });
  assets.catch(() => (assets = undefined));
  return assets;
}

/** Options for {@link useGraphiQLPage}. */
export interface GraphiQLPageOptions {
  /** The GraphQL endpoint's path (`graphql.path`); assets live under `<path>/graphiql/`. */
  graphqlPath: string;
  /** Page title. @default 'GraphiQL' */
  title?: string;
  /** The operation the editor opens on. @default GraphiQL's welcome text */
  defaultQuery?: string;
}

/** Text safe inside an HTML element or a double-quoted attribute. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element: no `</script>`, `<!--` or line terminators JS would choke on. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The page's HTML. URLs are relative to the page (`graphql/graphiql/…` for a page at `/graphql`),
 * so GraphiQL also works behind a proxy that serves the gateway under a path prefix.
 */
export function renderGraphiQLPage(opts: GraphiQLPageOptions, files: ReadonlyMap<GraphiQLAssetName, StaticBody>): string {
  const base = `${opts.graphqlPath.slice(opts.graphqlPath.lastIndexOf('/') + 1)}/graphiql/`;
  const url = (name: GraphiQLAssetName) => `${base}${name}?v=${files.get(name)!.hash}`;
  const workers = Object.fromEntries(Object.entries(WORKER_LABELS).map(([label, file]) => [label, url(file)]));
  // yoga's GraphiQL opens on `query` (after a `?query=` in the page URL); its `defaultQuery` loses to the welcome text.
  const options = opts.defaultQuery === undefined ? { title: opts.title } : { title: opts.title, query: opts.defaultQuery };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(opts.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${escapeHtml(url('favicon.ico'))}" />
    <link rel="stylesheet" href="${escapeHtml(url('graphiql.css'))}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script>
      self.MonacoEnvironment = {
        globalAPI: false,
        getWorkerUrl: function (_moduleId, label) { return new URL(${scriptJson(workers)}[label], document.baseURI).href; },
      };
    </script>
    <script src="${escapeHtml(url('graphiql.js'))}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${scriptJson(options)});
    </script>
  </body>
</html>
`;
}

/** Requests yoga would answer with GraphiQL: a GET from something that reads HTML. */
function wantsGraphiQL(request: Request): boolean {
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * Serves the GraphiQL page in place of yoga's own plugin (whose page would be compressed anew by
 * the compression hook on every view): precompressed body, ETag, 304 on a matching If-None-Match.
 */
export function useGraphiQLPage(opts: GraphiQLPageOptions): YogaPlugin {
  let page: Promise<StaticBody> | undefined;
  const pageBody = (): Promise<StaticBody> => {
    page ??= graphiqlAssets().then((files) => new StaticBody('text/html; charset=utf-8', Buffer.from(renderGraphiQLPage(opts, files), 'utf8')));
    page.catch(() => (page = undefined));
    return page;
  };
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (!wantsGraphiQL(request)) return;
      return pageBody().then(async (body) => {
        const out = await body.answer(request.headers.get('accept-encoding'), request.headers.get('if-none-match'), 'no-cache');
        const payload = out.body && new Uint8Array(out.body.buffer as ArrayBuffer, out.body.byteOffset, out.body.byteLength);
        endResponse(new fetchAPI.Response(payload ?? null, { status: out.status, headers: out.headers }));
      });
    },
  };
}

/**
 * The asset endpoints, by path (`<graphqlPath>/graphiql/<file>`), for the server's table of
 * internal endpoints: GET and HEAD; `v` equal to the asset's hash makes the answer immutable.
 */
export function graphiqlAssetEndpoints(graphqlPath: string): Record<string, (ctx: RequestContext) => Promise<void>> {
  const out: Record<string, (ctx: RequestContext) => Promise<void>> = {};
  for (const name of GRAPHIQL_ASSETS) {
    out[`${graphqlPath}/graphiql/${name}`] = async (ctx) => {
      const res = ctx.res;
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw MethodNotAllowed(ctx.method).withHeaders({ Allow: 'GET, HEAD' });
      const asset = (await graphiqlAssets()).get(name)!;
      const pinned = new URLSearchParams(ctx.query).get('v') === asset.hash;
      const h = ctx.req.headers;
      const out = await asset.answer(typeof h['accept-encoding'] === 'string' ? h['accept-encoding'] : null, h['if-none-match'], pinned ? IMMUTABLE : 'no-cache');
      res.writeHead(out.status, out.headers);
      res.end(ctx.method === 'HEAD' ? undefined : out.body);
    };
  }
  return out;
}
