/**
 * The GraphiQL page, self-contained: graphql-yoga's default page loads GraphiQL's scripts from a
 * public CDN, which an air-gapped cluster (or a CI machine) cannot reach. This one inlines them
 * (@graphql-yoga/render-graphiql, ~9 MB), so GraphiQL works wherever the gateway does.
 *
 * The page depends only on the gateway's own GraphiQL options, so it is rendered once per
 * distinct options and reused; the table is bounded because nothing in it comes from a client.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

type GraphiQLRenderOptions = Parameters<typeof renderGraphiQL>[0];

const MAX_PAGES = 4;
const pages = new Map<string, string>();

export function renderOfflineGraphiQL(opts?: GraphiQLRenderOptions): string {
  const key = JSON.stringify(opts ?? {});
  let page = pages.get(key);
  if (page === undefined) {
    page = renderGraphiQL(opts);
    if (pages.size >= MAX_PAGES) pages.delete(pages.keys().next().value!);
    pages.set(key, page);
  }
  return page;
}
