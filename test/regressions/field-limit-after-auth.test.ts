/**
 * Regression: on a field that is both protected (@authenticated) and rate-limited, a caller the
 * field refuses used up a point of its window before the refusal, so a second refused call came
 * back RATE_LIMITED instead of UNAUTHENTICATED. Authorization now runs first.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { mint } from '../helpers/jwks.js';

const SECRET = 'field-limit-after-auth-secret-0123456789';
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    configure(c) {
      c.auth = { jwt: { algorithms: ['HS256'], secret: SECRET } };
      c.rateLimit = { fields: { 'User.email': { points: 1, durationSec: 60 } } };
    },
  });
});
afterAll(() => gw.close());

const QUERY = '{ user(id: "1") { name email } }';
const codeOf = (r: Awaited<ReturnType<TestGateway['gql']>>) => r.body.errors?.[0]?.extensions?.code;

it('refused callers do not spend the field window; allowed ones do', async () => {
  for (let i = 0; i < 3; i++) {
    const anon = await gw.gql(QUERY);
    expect(anon.body.data.user.name).toBeTruthy();
    expect(codeOf(anon)).toBe('UNAUTHENTICATED');
  }
  const auth = { authorization: `Bearer ${await mint({ sub: 'field-user' }, SECRET)}` };
  const first = await gw.gql(QUERY, undefined, auth);
  expect(first.body.errors).toBeUndefined();
  expect(first.body.data.user.email).toContain('@');
  const second = await gw.gql(QUERY, undefined, auth);
  expect(codeOf(second)).toBe('RATE_LIMITED');
});
