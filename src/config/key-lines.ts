/**
 * Where each key of a YAML document sits: key path (as {@link formatKeyPath} writes it) → line
 * number, so a config problem can point at the line to edit. Built once per load by one walk
 * of the document's nodes; aliases are not followed (a problem inside an alias's value points
 * at the alias, the nearest key the file really has).
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/** `a.b[0].c`: dotted keys with list indexes, the way every config problem names its key. */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** The key of a map pair as the config sees it (`toJS` turns scalar keys into strings). */
export function pairKeyName(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

export interface KeyLines {
  /** The line of `path`, else of its nearest ancestor the document holds; undefined for the root. */
  lineOf(path: string): number | undefined;
}

export function indexKeyLines(root: Node | null, lines: LineCounter): KeyLines {
  const table = new Map<string, number>();
  const lineAt = (offset: number): number => lines.linePos(offset).line;
  const walk = (node: unknown, path: Array<string | number>): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyPath = [...path, pairKeyName(pair.key)];
        const keyNode = pair.key as Node | null;
        // A later duplicate wins, as it does in the loaded value.
        if (keyNode?.range) table.set(formatKeyPath(keyPath), lineAt(keyNode.range[0]));
        walk(pair.value, keyPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const itemPath = [...path, i];
        const range = (item as Node | null)?.range;
        if (range) table.set(formatKeyPath(itemPath), lineAt(range[0]));
        walk(item, itemPath);
      });
    }
  };
  walk(root, []);
  return {
    lineOf(path) {
      let p = path;
      while (p) {
        const line = table.get(p);
        if (line !== undefined) return line;
        p = parentPath(p);
      }
      return undefined;
    },
  };
}

/** `a.b[0]` → `a.b` → `a` → ``. A key holding a dot is cut in two, which only makes the search visit one more prefix. */
function parentPath(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}
