import type { UpstreamConfig } from '../config/schema.js';
import type { Target } from './types.js';

/** The live target list of an upstream, in config order. */
export function createTargets(config: UpstreamConfig): Target[] {
  return config.targets.map((t, index) => ({
    url: t.url.replace(/\/+$/, ''),
    weight: t.weight,
    index,
    healthy: true,
    active: 0,
  }));
}
