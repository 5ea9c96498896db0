/**
 * The demo kit's recorder keeps a bounded window of calls: a demo upstream under load (`npm
 * start --demo` runs them in the gateway's process) must not grow without end.
 */
import { expect, it } from 'vitest';
import { MAX_RECORDED, Recorder } from '../../src/demo/recorder.js';

it('keeps at most MAX_RECORDED calls, the most recent ones', () => {
  const r = new Recorder();
  for (let i = 0; i < MAX_RECORDED * 2.5; i++) r.record({ method: 'GET', path: `/c/${i}`, query: new URLSearchParams(), headers: {} });
  expect(r.calls.length).toBeLessThanOrEqual(MAX_RECORDED);
  expect(r.calls.at(-1)!.path).toBe(`/c/${MAX_RECORDED * 2.5 - 1}`);
  expect(r.calls.length).toBeGreaterThanOrEqual(MAX_RECORDED / 2);
});
