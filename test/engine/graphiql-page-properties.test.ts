/**
 * The GraphiQL page embeds `graphql.graphiql.defaultQuery` in an inline script: whatever the
 * text, it must come back unchanged in the browser and never end the script element early.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRAPHIQL_ASSETS, StaticBody, renderGraphiQLPage } from '../../src/graphql/graphiql-page.js';

const files = new Map(GRAPHIQL_ASSETS.map((n) => [n, new StaticBody('text/plain', Buffer.from(n))]));
const OPEN = "renderYogaGraphiQL(document.querySelector('#root'), ";

/** The options object the page hands GraphiQL, read back as the browser's JS engine would read the literal. */
function embeddedOptions(html: string): { title?: string; query?: string } {
  const start = html.indexOf(OPEN) + OPEN.length;
  const end = html.indexOf(');\n', start);
  return JSON.parse(html.slice(start, end)) as { title?: string; query?: string };
}

const hostile = fc.oneof(
  fc.string({ unit: 'grapheme-composite' }),
  fc.array(fc.constantFrom('</script>', '</SCRIPT ', '<!--', '-->', '<script>', '\u2028', '\u2029', '"', "'", '\\', '`', '${', 'query Q { a }', '\n'), { maxLength: 12 }).map((a) => a.join('')),
);

describe('GraphiQL page: the default query is embedded safely', () => {
  it('round-trips exactly and never closes the script element early', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom('/graphql', '/api/v2/graphql'), (defaultQuery, graphqlPath) => {
        const html = renderGraphiQLPage({ graphqlPath, title: 'T', defaultQuery }, files);
        expect(html.match(/<\/script/gi)).toHaveLength(3);
        expect(html).not.toContain('<!--');
        expect(html).not.toMatch(/[\u2028\u2029]/);
        expect(embeddedOptions(html).query).toBe(defaultQuery);
      }),
      { numRuns: 300 },
    );
  });

  it('asset URLs are relative to the page and carry each file\'s hash', () => {
    const html = renderGraphiQLPage({ graphqlPath: '/api/v2/graphql' }, files);
    expect(html).toContain(`src="graphql/graphiql/graphiql.js?v=${files.get('graphiql.js')!.hash}"`);
    expect(html).toContain(`href="graphql/graphiql/graphiql.css?v=${files.get('graphiql.css')!.hash}"`);
    expect(embeddedOptions(html).query).toBeUndefined();
  });
});
