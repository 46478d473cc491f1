/**
 * Tenant walls, generated from the route table: every non-public route has a tenancy rule here —
 * `global` (the same for every caller: registry, norms, aggregates), `self` (the tenant comes from
 * the token, nothing else can be named) or `tenant` (a resource belongs to an insurer or a
 * provider). For every tenant route and every role allowed on it, the caller's own resource
 * answers as it should and another tenant's answers 404 (or 403 where the tenant is named in the
 * request), with nothing of it in the answer. A new route without a rule fails this suite.
 */
import type { Client } from 'pg';
import { Role, ROLES } from '@app/platform';
import { giveTask, http, pg, referralMessage, RunningApi, startApi, token } from './support/harness';
import { referralBundle } from './support/fhir-bundles';
import { addProvider } from './support/registry';
import { routeTable } from './support/routes';

const OWN = '8911';
const FOREIGN = '8912';
const OWN_AGB = '73991101';
const FOREIGN_AGB = '73991102';
let api: RunningApi;
let db: Client;

const as = (role: Role, side: 'own' | 'foreign', subject = `${role}-${side}`) =>
  role === 'provider' ? token('provider', { agb: side === 'own' ? OWN_AGB : FOREIGN_AGB, subject }) : token(role, { uzovi: [side === 'own' ? OWN : FOREIGN], subject });

/** A referral of insurer OWN with a task; returns both ids and the BSN. */
async function ownReferral(withTask = true): Promise<{ referralId: string; taskId: string; bsn: string; messageId: string }> {
  const msg = referralMessage({ uzovi: OWN, agb: OWN_AGB });
  const res = await http(api.url, 'POST', '/v1/referrals', { token: token('referral-service', { uzovi: [OWN] }), body: msg });
  expect(res.status).toBe(201);
  const taskId = withTask ? await giveTask(db, res.body.id) : '';
  return { referralId: res.body.id, taskId, bsn: msg.bsn, messageId: msg.messageId };
}
const version = async (taskId: string) => (await db.query(`SELECT version FROM mediation_task WHERE id = $1`, [taskId])).rows[0].version as number;

type Outcome = { status: number; body: any };
interface TenantRule {
  kind: 'tenant';
  /** Calls the route as `role` on a resource of tenant OWN, from the own or the foreign side. */
  call: (role: Role, side: 'own' | 'foreign') => Promise<Outcome & { secret?: string }>;
  own: number[];
  foreign: number[];
  /** For lists and searches that answer 200 either way: what the foreign answer must not hold. */
  foreignEmpty?: (body: any) => boolean;
}
type Rule = { kind: 'global' | 'self' } | TenantRule;

const task = (path: string, body: (taskId: string, v: number) => object = (_t, v) => ({ version: v })): TenantRule => ({
  kind: 'tenant',
  call: async (role, side) => {
    const { taskId, bsn } = await ownReferral();
    const res = await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/${path}`, { token: as(role, side), body: body(taskId, await version(taskId)) });
    return { ...res, secret: bsn };
  },
  own: [200],
  foreign: [404],
});

const RULES: Record<string, Rule> = {
  'POST /v1/referrals/search': {
    kind: 'tenant',
    call: async (role, side) => {
      const { bsn, referralId } = await ownReferral();
      const res = await http(api.url, 'POST', '/v1/referrals/search', { token: as(role, side), body: { bsn, reason: 'patient called about the wait' } });
      return { ...res, secret: referralId };
    },
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.referrals.length === 0,
  },
  'POST /v1/referrals': {
    kind: 'tenant',
    call: async (role, side) => http(api.url, 'POST', '/v1/referrals', { token: as(role, side), body: referralMessage({ uzovi: OWN }) }),
    own: [201],
    foreign: [403],
  },
  'POST /v1/referrals/batch': {
    kind: 'tenant',
    call: async (role, side) => {
      const res = await http(api.url, 'POST', '/v1/referrals/batch', { token: as(role, side), body: { messages: [referralMessage({ uzovi: OWN })] } });
      return { status: res.body.results?.[0]?.status ?? res.status, body: res.body };
    },
    own: [201],
    foreign: [403],
  },
  'POST /fhir/Bundle': {
    kind: 'tenant',
    call: async (role, side) =>
      http(api.url, 'POST', '/fhir/Bundle', { token: as(role, side), body: referralBundle(referralMessage({ uzovi: OWN })), headers: { 'content-type': 'application/fhir+json' } }),
    own: [201],
    foreign: [403],
  },
  'GET /v1/referrals/:id': {
    kind: 'tenant',
    call: async (role, side) => {
      const { referralId } = await ownReferral();
      return http(api.url, 'GET', `/v1/referrals/${referralId}`, { token: as(role, side) });
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/consent-withdrawals': {
    kind: 'tenant',
    call: async (role, side) => {
      const { referralId } = await ownReferral();
      return http(api.url, 'POST', '/v1/consent-withdrawals', { token: as(role, side), body: { referralId } });
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/audit/search': {
    kind: 'tenant',
    call: async (role, side) => {
      const { bsn } = await ownReferral();
      return http(api.url, 'POST', '/v1/audit/search', { token: as(role, side), body: { bsn } });
    },
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.entries.length === 0,
  },
  'GET /v1/audit/entries': {
    kind: 'tenant',
    call: async (role, side) => {
      // An entry of the own insurer by a user of its own: the foreign side must not see it.
      const created = await http(api.url, 'POST', '/v1/referrals', {
        token: token('referral-service', { uzovi: [OWN], subject: 'tenancy-rs' }),
        body: referralMessage({ uzovi: OWN, agb: OWN_AGB }),
      });
      expect(created.status).toBe(201);
      return http(api.url, 'GET', '/v1/audit/entries?actor=tenancy-rs', { token: as(role, side) });
    },
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.entries.length === 0,
  },
  'GET /v1/audit/verify': { kind: 'global' },
  'GET /v1/auth/whoami': { kind: 'self' },
  'POST /v1/providers/:agb/wait-times': {
    kind: 'tenant',
    call: async (role, side) =>
      http(api.url, 'POST', `/v1/providers/${OWN_AGB}/wait-times`, {
        token: as(role, side),
        body: { month: new Date().toISOString().slice(0, 7), figures: [{ location: 'a', diagnosisGroup: 'depressie', aanmeldWeeks: 3, behandelWeeks: 2 }] },
      }),
    own: [201],
    foreign: [403],
  },
  'GET /v1/providers/:agb/wait-times': {
    kind: 'tenant',
    // Providers see only their own figures; insurer staff and admins read every provider's.
    call: async (role, side) => http(api.url, 'GET', `/v1/providers/${OWN_AGB}/wait-times`, { token: as(role, side) }),
    own: [200],
    foreign: [200, 403],
  },
  'GET /v1/norm-sets': { kind: 'global' },
  'GET /v1/norm-sets/:id': { kind: 'global' },
  'POST /v1/norm-sets': { kind: 'global' },
  'PATCH /v1/norm-sets/:id': { kind: 'global' },
  'POST /v1/norm-sets/:id/successor': { kind: 'global' },
  'GET /v1/mediation-policy': { kind: 'global' },
  'PUT /v1/mediation-policy': { kind: 'global' },
  'GET /v1/referrals/:id/evaluations': {
    kind: 'tenant',
    call: async (role, side) => {
      const { referralId } = await ownReferral();
      return http(api.url, 'GET', `/v1/referrals/${referralId}/evaluations`, { token: role === 'admin' ? token('admin') : as(role, side) });
    },
    own: [200],
    foreign: [404],
  },
  'GET /v1/evaluations/verdicts': {
    kind: 'tenant',
    call: async (role, side) => http(api.url, 'GET', '/v1/evaluations/verdicts', { token: role === 'admin' ? token('admin') : as(role, side) }),
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => !JSON.stringify(b).includes(OWN),
  },
  'GET /v1/evaluations/replay': {
    kind: 'tenant',
    // An auditor replays the decisions of their own insurer; the foreign one has none here.
    call: async (role, side) => http(api.url, 'GET', '/v1/evaluations/replay', { token: role === 'admin' ? token('admin') : as(role, side) }),
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.checked === 0,
  },
  'POST /v1/worklist/claim-next': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId } = await ownReferral();
      const res = await http(api.url, 'POST', '/v1/worklist/claim-next', { token: as(role, side) });
      return { ...res, secret: taskId };
    },
    own: [200],
    // The foreign insurer's queue is empty: 404, and never the own insurer's task.
    foreign: [404],
  },
  'GET /v1/worklist/tasks': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId } = await ownReferral();
      const res = await http(api.url, 'GET', '/v1/worklist/tasks', { token: as(role, side) });
      return { ...res, secret: taskId };
    },
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.items.every((t: { uzovi: string }) => t.uzovi !== OWN),
  },
  'GET /v1/worklist/counts': {
    kind: 'tenant',
    call: async (role, side) => http(api.url, 'GET', '/v1/worklist/counts', { token: as(role, side) }),
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => !JSON.stringify(b).includes(OWN),
  },
  'GET /v1/worklist/tasks/:id': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId, bsn } = await ownReferral();
      return { ...(await http(api.url, 'GET', `/v1/worklist/tasks/${taskId}`, { token: as(role, side) })), secret: bsn };
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/worklist/tasks/:id/claim': task('claim'),
  'POST /v1/worklist/tasks/:id/release': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId } = await ownReferral();
      expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: as(role, 'own'), body: { version: 1 } })).status).toBe(200);
      return http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/release`, { token: as(role, side), body: { version: 2 } });
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/worklist/tasks/:id/assign': {
    ...task('assign', (_t, v) => ({ version: v, assignee: 'someone' })),
    // Assigning is for leads; a mediator of the own insurer is refused by the rule, not the wall.
    own: [200, 403],
  },
  'POST /v1/worklist/tasks/:id/contact-attempts': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId } = await ownReferral();
      expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: as(role, 'own'), body: { version: 1 } })).status).toBe(200);
      return http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/contact-attempts`, { token: as(role, side), body: { version: 2, channel: 'phone', result: 'reached' } });
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/worklist/tasks/:id/outcome': {
    kind: 'tenant',
    call: async (role, side) => {
      const { taskId } = await ownReferral();
      expect((await http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/claim`, { token: as(role, 'own'), body: { version: 1 } })).status).toBe(200);
      return http(api.url, 'POST', `/v1/worklist/tasks/${taskId}/outcome`, { token: as(role, side), body: { version: 2, outcome: 'prefers-to-wait' } });
    },
    own: [200],
    foreign: [404],
  },
  'POST /v1/worklist/tasks/:id/reopen': {
    ...task('reopen'),
    // Reopening is for leads, and only for closed tasks: the own side is refused by those rules.
    own: [403, 409],
  },
  'GET /v1/providers': { kind: 'global' },
  'GET /v1/providers/:agb': { kind: 'global' },
  'PUT /v1/providers/:agb': { kind: 'global' },
  'PUT /v1/providers/:agb/locations/:code': { kind: 'global' },
  'POST /v1/providers/:agb/contracts': { kind: 'global' },
  'DELETE /v1/providers/:agb/contracts/:id': { kind: 'global' },
  'POST /v1/providers/import': { kind: 'global' },
  'POST /v1/providers/contracts/import': { kind: 'global' },
  'POST /v1/ttp/snapshots': { kind: 'self' },
  'POST /v1/ttp/runs': { kind: 'global' },
  'GET /v1/ttp/runs': { kind: 'global' },
  'GET /v1/ttp/runs/:id': { kind: 'global' },
  'GET /v1/ttp/report': { kind: 'global' },
  'GET /v1/ttp/feedback': { kind: 'self' },
  'GET /v1/ttp/cleaned-waits': { kind: 'self' },
  // Process-wide figures (no tenant label): admin JWT or METRICS_TOKEN (test/metrics.e2e-spec.ts).
  'GET /metrics': { kind: 'global' },
  // Aggregates of the caller's insurer(s), national for an admin: the own (or national) report
  // counts the own insurer's referral; the foreign insurer's report names and counts none of it.
  'GET /v1/reports/mediation': {
    kind: 'tenant',
    call: async (role, side) => {
      await ownReferral(false);
      const res = await http(api.url, 'GET', '/v1/reports/mediation', { token: role === 'admin' ? token('admin') : as(role, side) });
      const counted = res.status === 200 && res.body.months[res.body.months.length - 1].referrals.received !== 0;
      const scoped = role === 'admin' ? res.body?.scope?.kind === 'national' : res.body?.scope?.uzovi?.[0] === (side === 'own' ? OWN : FOREIGN);
      // 299: answered, but not with the figures this side should get.
      return { status: res.status === 200 && scoped && counted === (side === 'own') ? 200 : res.status === 200 ? 299 : res.status, body: res.body };
    },
    own: [200],
    foreign: [200],
    foreignEmpty: (b) => b.months.every((m: { referrals: { received: number | null } }) => m.referrals.received === 0),
  },
};

beforeAll(async () => {
  db = await pg();
  api = await startApi();
  for (const agb of [OWN_AGB, FOREIGN_AGB]) {
    await addProvider(db, { agb, name: `GGZ ${agb}`, locations: [{ code: 'a', region: 'utrecht', groups: ['depressie'] }], contracts: [{ uzovi: OWN }, { uzovi: FOREIGN }] });
  }
});
afterAll(async () => {
  await api?.close();
  await db?.end();
});

it('has a tenancy rule for every route', () => {
  const missing = routeTable(api.app)
    .filter((r) => !r.public)
    .map((r) => `${r.method} ${r.path}`)
    .filter((k) => !(k in RULES));
  expect(missing).toEqual([]);
});

describe('tenant routes: every allowed role, own and foreign', () => {
  const cases = () =>
    routeTable(api.app)
      .filter((r) => !r.public && RULES[`${r.method} ${r.path}`]?.kind === 'tenant')
      .flatMap((r) =>
        r.roles!.filter((role) => role !== 'admin' || r.path.includes('evaluations') || r.path.includes('reports')).map((role) => ({ key: `${r.method} ${r.path}`, role })),
      );

  it('walls off the other tenant', async () => {
    const results: string[] = [];
    const expected: string[] = [];
    for (const { key, role } of cases()) {
      const rule = RULES[key] as TenantRule;
      const own = await rule.call(role, 'own');
      results.push(`${key} as ${role} (own): ${rule.own.includes(own.status) ? 'ok' : own.status}`);
      expected.push(`${key} as ${role} (own): ok`);
      if (role === 'admin') continue; // no tenant: the admin sees all
      const foreign = await rule.call(role, 'foreign');
      const walled = rule.foreign.includes(foreign.status) && (!rule.foreignEmpty || foreign.status >= 300 || rule.foreignEmpty(foreign.body));
      const leaked = foreign.secret !== undefined && JSON.stringify(foreign.body ?? '').includes(foreign.secret);
      results.push(`${key} as ${role} (foreign): ${walled && !leaked ? 'walled' : `${foreign.status}${leaked ? ' leaked' : ''}`}`);
      expected.push(`${key} as ${role} (foreign): walled`);
    }
    expect(results).toEqual(expected);
    expect(results.length).toBeGreaterThan(40);
  });
});

/**
 * Routes that Fastify serves beside Nest's route table (plugins register them directly, so
 * routeTable() cannot see them): each must lie under a prefix listed here, with its rule.
 *   /docs          public: the Swagger UI (ENABLE_DOCS)
 *   /admin/queues  Bull Board: admin only, no tenant (queues hold ids of every insurer, no
 *                  personal data); only its sign-in and sign-out are open. Probed below for every
 *                  route and every other role; the rest is in test/metrics.e2e-spec.ts.
 * A new plugin route elsewhere fails this suite until it is given a rule.
 */
describe('routes outside the route table', () => {
  const PREFIXES: Record<string, 'public' | 'admin-dashboard'> = { '/docs': 'public', '/admin/queues': 'admin-dashboard' };
  const DASHBOARD_OPEN = ['GET /admin/queues/login', 'POST /admin/queues/login', 'POST /admin/queues/logout'];

  /** Every method and path Fastify routes, from its printRoutes() tree (HEAD left out: it follows GET). */
  function fastifyRoutes(): { method: string; path: string }[] {
    const tree: string = api.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    const stack: string[] = [];
    const out: { method: string; path: string }[] = [];
    for (const line of tree.split('\n')) {
      const m = /^([│ ]*)[├└]── (.+?) \(([A-Z, ]+)\)$/u.exec(line);
      if (!m) continue;
      const depth = [...m[1]].length / 4;
      stack.length = depth;
      stack.push(m[2]);
      const path = stack.join('').replace(/\/+/g, '/');
      for (const method of m[3].split(', ')) if (method !== 'HEAD') out.push({ method, path: path.length > 1 ? path.replace(/\/$/, '') : path });
    }
    return out;
  }
  const underPrefix = (path: string) => Object.keys(PREFIXES).find((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}-`));

  it('finds every route Fastify serves either in the route table or under a known prefix', () => {
    const nest = new Set(routeTable(api.app).map((r) => `${r.method} ${r.path}`));
    const routes = fastifyRoutes();
    expect(routes.length).toBeGreaterThan(nest.size);
    const unruled = routes.filter((r) => !nest.has(`${r.method} ${r.path}`) && !underPrefix(r.path)).map((r) => `${r.method} ${r.path}`);
    expect(unruled).toEqual([]);
    // And the route table's own routes are all there (the parse is sound).
    expect([...nest].filter((k) => !routes.some((r) => `${r.method} ${r.path}` === k))).toEqual([]);
  });

  it('keeps every dashboard route to the admin role: 401 without a token, 403 for every other role of either tenant', async () => {
    const concrete = (path: string) =>
      path
        .replace(':queueName', 'evaluate-referral')
        .replace(':queueStatus', 'completed')
        .replace(/:[a-zA-Z]+/g, 'x')
        .replace(/\*$/, 'static/x.js');
    const dashboard = fastifyRoutes().filter((r) => underPrefix(r.path) === '/admin/queues' && !DASHBOARD_OPEN.includes(`${r.method} ${r.path}`));
    expect(dashboard.length).toBeGreaterThan(30);
    const results: string[] = [];
    const expected: string[] = [];
    for (const r of dashboard) {
      const path = concrete(r.path);
      const body = r.method === 'GET' ? undefined : {};
      const none = await http(api.url, r.method, path, { body });
      results.push(`${r.method} ${r.path} without a token: ${none.status}`);
      expected.push(`${r.method} ${r.path} without a token: 401`);
      for (const role of ROLES.filter((x) => x !== 'admin')) {
        for (const side of ['own', 'foreign'] as const) {
          const res = await http(api.url, r.method, path, { token: as(role, side), body });
          results.push(`${r.method} ${r.path} as ${role} (${side}): ${res.status === 403 && res.body?.statusCode === 403 ? 'refused' : res.status}`);
          expected.push(`${r.method} ${r.path} as ${role} (${side}): refused`);
        }
      }
    }
    expect(results).toEqual(expected);
  });
});
