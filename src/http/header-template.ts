/**
 * Header values with variables, e.g. `X-Gateway-Latency: "${request.latencyMs}"`, parsed once at
 * start-up into literal pieces and variable slots; a request only concatenates them (the proxy's
 * src/proxy/header-ops.ts renders them). Variable names always hold a dot, so they never read as
 * the config file's environment placeholders (`${VAR}`, src/config/load.ts).
 */
import { isHeaderName, isReservedHeader } from './reserved-headers.js';

/** What a variable stands for. */
export type TemplateVar =
  | { readonly kind: 'request.id' | 'request.method' | 'request.path' | 'request.latencyMs' | 'client.ip' | 'client.id' | 'route.name' | 'upstream.name' | 'upstream.status' }
  | { readonly kind: 'request.header'; readonly header: string };

/** Literal strings and variables, in order. */
export type HeaderTemplate = ReadonlyArray<string | TemplateVar>;

const SIMPLE = new Set<string>([
  'request.id', 'request.method', 'request.path', 'request.latencyMs', 'client.ip', 'client.id', 'route.name', 'upstream.name', 'upstream.status',
]);

/** Variables whose value is the same for every request of a route (a cached answer may carry them). */
const PER_ROUTE = new Set<string>(['route.name', 'upstream.name', 'upstream.status']);

/** True when a compiled template holds a value of one request (id, client, latency, a request header). */
export function isPerRequest(t: HeaderTemplate): boolean {
  return t.some((p) => typeof p !== 'string' && !PER_ROUTE.has(p.kind));
}

/** Names a template may use, for messages and docs. */
export const TEMPLATE_VARIABLES: readonly string[] = [...SIMPLE, 'request.header.<name>'];

/**
 * Parses a header value: a plain string (no `${`) stays a string; one with variables becomes a
 * {@link HeaderTemplate}. An unknown variable, an unclosed `${`, a control character, or a
 * response-only variable on the request side is an error message.
 */
export function compileHeaderTemplate(value: string, direction: 'request' | 'response'): string | HeaderTemplate | { error: string } {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return { error: 'a header value may not hold control characters' };
  }
  if (!value.includes('${')) return value;
  const parts: Array<string | TemplateVar> = [];
  let at = 0;
  for (;;) {
    const open = value.indexOf('${', at);
    if (open === -1) break;
    const close = value.indexOf('}', open + 2);
    if (close === -1) return { error: `unclosed "\${" at ${open}` };
    if (open > at) parts.push(value.slice(at, open));
    const name = value.slice(open + 2, close);
    if (name.startsWith('request.header.')) {
      const header = name.slice('request.header.'.length);
      if (!isHeaderName(header)) return { error: `\${${name}}: "${header}" is not a header name` };
      // The client's value of a gateway-owned header is never forwarded, under its name or another.
      if (direction === 'request' && isReservedHeader(header.toLowerCase())) return { error: `\${${name}}: the client's ${header} is never forwarded (use \${client.id} or \${client.ip})` };
      parts.push({ kind: 'request.header', header: header.toLowerCase() });
    } else if (SIMPLE.has(name)) {
      if (name === 'upstream.status' && direction === 'request') return { error: '${upstream.status} is only known on the response side' };
      parts.push({ kind: name as Exclude<TemplateVar, { kind: 'request.header' }>['kind'] });
    } else {
      return { error: `unknown variable \${${name}} (known: ${TEMPLATE_VARIABLES.map((v) => `\${${v}}`).join(', ')})` };
    }
    at = close + 1;
  }
  if (at < value.length) parts.push(value.slice(at));
  return parts;
}
