/**
 * The GraphiQL page, self-contained: graphql-yoga's default page loads GraphiQL's scripts from a
 * public CDN, which an air-gapped cluster (or a CI machine) cannot reach. This one inlines them
 * (@graphql-yoga/render-graphiql, ~9 MB), so GraphiQL works wherever the gateway does.
 *
 * The page depends only on the gateway's own GraphiQL options, so it is rendered once per
 * distinct options and reused; the table is bounded because nothing in it comes from a client.
 * The bundle is loaded on the first page view, not at start-up: it costs ~30 MB of heap
 * (~70 MB RSS) that a gateway nobody opens GraphiQL on should not carry.
 */
import type { renderGraphiQL as RenderGraphiQL } from '@graphql-yoga/render-graphiql';

type GraphiQLRenderOptions = Parameters<typeof RenderGraphiQL>[0];

let renderer: Promise<typeof RenderGraphiQL> | undefined;

const MAX_PAGES = 4;
const pages = new Map<string, string>();

export async function renderOfflineGraphiQL(opts?: GraphiQLRenderOptions): Promise<string> {
  const key = JSON.stringify(opts ?? {});
  let page = pages.get(key);
  if (page === undefined) {
    renderer ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL);
    page = (await renderer)(opts);
    if (pages.size >= MAX_PAGES) pages.delete(pages.keys().next().value!);
    pages.set(key, page);
  }
  return page;
}
