/**
 * State that outlives one gateway generation: on hot reload (src/reload.ts) a plugin whose
 * inputs did not change is handed to the new generation as it is, instead of being built
 * again. That is how a reload keeps in-process rate-limit windows (and their Redis client):
 * the counters live in the plugin, so rebuilding it would reset every limit.
 *
 * Each plugin is closed by the newest generation that uses it, never by an older one.
 */
import type { GatewayPlugin } from './types.js';

interface Entry {
  key: string;
  plugin: GatewayPlugin;
}

/** Identifies one generation's chain. */
export type CarryToken = { readonly generation: number };

export class PluginCarry {
  /** Plugins of the generation now serving, by slot. */
  #current = new Map<string, Entry>();
  /** Plugins of the generation being built. */
  #next = new Map<string, Entry>();
  #building: CarryToken | undefined;
  #count = 0;
  readonly #owner = new WeakMap<GatewayPlugin, CarryToken>();

  /** Starts building a generation (one at a time: reloads are serialized). */
  begin(): CarryToken {
    this.#next = new Map();
    this.#building = { generation: ++this.#count };
    return this.#building;
  }

  /**
   * The serving generation's plugin for `slot` when it was built from the same `key` (a
   * serialization of everything the plugin is built from), else a new one from `build`.
   */
  reuse<P extends GatewayPlugin>(slot: string, key: string, build: () => P): P {
    const prev = this.#current.get(slot);
    const plugin = prev && prev.key === key ? (prev.plugin as P) : build();
    this.#next.set(slot, { key, plugin });
    return plugin;
  }

  /** The generation being built now serves: it owns every plugin it uses. */
  commit(): void {
    const token = this.#building;
    if (!token) return;
    for (const entry of this.#next.values()) this.#owner.set(entry.plugin, token);
    this.#current = this.#next;
    this.#next = new Map();
    this.#building = undefined;
  }

  /** The generation being built was refused: forget it (its own new plugins close with it). */
  abort(): void {
    this.#next = new Map();
    this.#building = undefined;
  }

  /** Whether the chain of `token` should close `plugin` (false once a newer generation took it over). */
  owns(token: CarryToken, plugin: GatewayPlugin): boolean {
    const owner = this.#owner.get(plugin);
    return owner === undefined || owner === token;
  }
}
