/**
 * Authentication and authorisation, generated from the route table: every route × every role,
 * plus no token and bad tokens. A new route without an access declaration fails this suite.
 */
import jwt from 'jsonwebtoken';
import { ROLES, Role } from '@app/platform';
import { http, RunningApi, startApi, testConfig, token } from './support/harness';
import { RouteInfo, routeTable } from './support/routes';

let api: RunningApi;
let routes: RouteInfo[];

beforeAll(async () => {
  api = await startApi();
  routes = routeTable(api.app);
});
afterAll(() => api.close());

const claimsFor = (role: Role) => (role === 'provider' ? { agb: '94012345' } : ['ttp-operator', 'admin'].includes(role) ? {} : { uzovi: ['3311'] });
const concrete = (path: string) => path.replace(/:[a-zA-Z]+/g, '00000000-0000-4000-8000-000000000000');

it('finds the routes it must cover', () => {
  expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
    expect.arrayContaining(['POST /v1/referrals', 'POST /v1/referrals/batch', 'GET /v1/referrals/:id', 'GET /health/live', 'GET /health/ready', 'GET /v1/auth/whoami']),
  );
});

it('has an access declaration on every route (roles, or explicitly public)', () => {
  const undeclared = routes.filter((r) => !r.public && !(r.roles && r.roles.length > 0));
  expect(undeclared.map((r) => r.handler)).toEqual([]);
});

it('answers 401 on every non-public route without a token', async () => {
  for (const r of routes.filter((x) => !x.public)) {
    const res = await http(api.url, r.method, concrete(r.path), { body: r.method === 'GET' ? undefined : {} });
    expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 401 });
    // FHIR routes answer in FHIR (docs/FHIR.md); every other route in the one error shape.
    if (r.path.startsWith('/fhir/')) expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
    else expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  }
});

it('answers every route × role as declared: allowed roles pass the gate, others get 403', async () => {
  const seen: string[] = [];
  for (const r of routes.filter((x) => !x.public)) {
    for (const role of ROLES) {
      const res = await http(api.url, r.method, concrete(r.path), { token: token(role, claimsFor(role)), body: r.method === 'GET' ? undefined : {} });
      const allowed = r.roles!.includes(role);
      const verdict = allowed ? ([401, 403].includes(res.status) ? 'blocked' : 'passed') : res.status === 403 ? 'forbidden' : `unexpected ${res.status}`;
      seen.push(`${r.method} ${r.path} ${role}: ${verdict}`);
      expect(`${r.method} ${r.path} ${role}: ${verdict}`).toBe(`${r.method} ${r.path} ${role}: ${allowed ? 'passed' : 'forbidden'}`);
    }
  }
  expect(seen.length).toBe(routes.filter((x) => !x.public).length * ROLES.length);
});

it('keeps public routes open without a token', async () => {
  for (const r of routes.filter((x) => x.public)) {
    const res = await http(api.url, r.method, r.path);
    expect(res.status).toBeLessThan(400);
  }
});

describe('bad tokens get 401', () => {
  const cfg = testConfig();
  const sign = (claims: object, opts: jwt.SignOptions = {}, secret = cfg.jwt.secret!, expires = true) =>
    jwt.sign(claims, secret, { algorithm: 'HS256', issuer: cfg.jwt.issuer, audience: cfg.jwt.audience, subject: 'x', ...(expires ? { expiresIn: 600 } : {}), ...opts });
  const cases: Array<[string, () => string]> = [
    ['signed with another secret', () => sign({ role: 'mediator', uzovi: '3311' }, {}, 'another-secret-another-secret-another')],
    ['expired', () => sign({ role: 'mediator', uzovi: '3311', exp: Math.floor(Date.now() / 1000) - 60 }, {}, undefined, false)],
    ['without expiry', () => sign({ role: 'mediator', uzovi: '3311' }, {}, undefined, false)],
    ['from another issuer', () => sign({ role: 'mediator', uzovi: '3311' }, { issuer: 'elsewhere' })],
    ['for another audience', () => sign({ role: 'mediator', uzovi: '3311' }, { audience: 'elsewhere' })],
    ['with an unknown role', () => sign({ role: 'patient', uzovi: '3311' })],
    ['an insurer role without uzovi', () => sign({ role: 'mediator' })],
    ['a provider without agb', () => sign({ role: 'provider' })],
    [
      'unsigned (alg none)',
      () =>
        jwt.sign({ role: 'mediator', uzovi: '3311', iss: cfg.jwt.issuer, aud: cfg.jwt.audience, sub: 'x', exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' }),
    ],
    ['not a JWT', () => 'hello'],
  ];
  it.each(cases)('%s', async (_name, make) => {
    const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: make() });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
  });

  it('a malformed Authorization header', async () => {
    const res = await http(api.url, 'GET', '/v1/auth/whoami', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
  });
});

it('tells a caller who the token says they are', async () => {
  const res = await http(api.url, 'GET', '/v1/auth/whoami', { token: token('referral-service', { uzovi: ['3311', '7095'], subject: 'zorgdomein' }) });
  expect(res.body).toEqual({ subject: 'zorgdomein', role: 'referral-service', uzovis: ['3311', '7095'] });
});
