/**
 * Regression: a refused request listed its refusal twice in the access log's `limits`
 * (once by the check, once when the refusal was recorded).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/log-capture.js';

const { lines, logger } = captureLogs();

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    logger,
    configure(c) {
      c.rateLimit = { perClient: { points: 1, durationSec: 60 } };
    },
  });
});
afterAll(() => gw.close());

it('a refusal appears once in the access log limits', async () => {
  await gw.gql('{ __typename }');
  const refused = await gw.gql('{ __typename }');
  expect(refused.status).toBe(429);
  await new Promise((r) => setTimeout(r, 50));
  const access = lines.filter((l) => l.type === 'access' && l.status === 429);
  expect(access).toHaveLength(1);
  expect(access[0]!.limits).toEqual(['perClient:exceeded']);
});
