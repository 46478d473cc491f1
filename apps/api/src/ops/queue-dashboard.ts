/**
 * The queue dashboard (Bull Board) at /admin/queues, for the `admin` role only.
 *
 * A browser cannot add a bearer header to a page load, so an operator signs in once:
 * GET /admin/queues/login shows a form; POST /admin/queues/login takes an admin JWT (form field
 * `token`, JSON `{ "token" }` or an Authorization header — never a URL, which would end up in logs
 * and history), checks it and sets it as a cookie: HttpOnly, SameSite=Strict, Path=/admin/queues,
 * Secure in production, Max-Age 15 minutes. Every dashboard request (page, files, its JSON API,
 * its actions) then needs that cookie or a bearer header carrying an admin JWT, verified anew each
 * time (so the token's own expiry ends the session too): none or invalid → 401, another role → 403,
 * in the one error shape. Changes made with the cookie must come from the dashboard's own pages
 * (Sec-Fetch-Site/Origin), on top of SameSite=Strict.
 *
 * Job data are ids only (DESIGN.md); the dashboard's routes that would write job data (add a job,
 * edit a job's data) are refused, so no one can put a BSN into a queue from here.
 *
 * These are Fastify routes beside Nest's, so the route table (test/support/routes.ts) does not list
 * them; test/tenancy.e2e-spec.ts checks that every route outside it lies under a prefix it knows.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { declaredQueues, errorBody, Principal, QueueService, TokenService } from '@app/platform';

export const DASHBOARD_PATH = '/admin/queues';
export const DASHBOARD_COOKIE = 'ggz_queues_session';
export const DASHBOARD_SESSION_SECONDS = 15 * 60;
/** Dashboard routes that write job data: refused (job data are ids written by this service). */
const REFUSED_ROUTES = new Set([`${DASHBOARD_PATH}/api/queues/:queueName/add`, `${DASHBOARD_PATH}/api/queues/:queueName/:jobId/update-data`]);
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export interface QueueDashboardOptions {
  queues: QueueService;
  tokens: TokenService;
  /** Send the cookie with Secure (production: the API sits behind TLS). */
  secureCookie: boolean;
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const bearer = (req: FastifyRequest): string | undefined => {
  const h = req.headers.authorization;
  return typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h)?.[1] : undefined;
};

/** No Origin header (not a browser's cross-origin request), or one naming this host. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

type Verdict = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; message: string };

async function admit(tokens: TokenService, token: string | undefined): Promise<Verdict> {
  if (!token) return { ok: false, status: 401, message: `Sign in at ${DASHBOARD_PATH}/login with an admin token, or send Authorization: Bearer <token>` };
  let principal: Principal;
  try {
    principal = await tokens.authenticate(token);
  } catch {
    return { ok: false, status: 401, message: 'The token is invalid or has expired: sign in again' };
  }
  if (principal.role !== 'admin') return { ok: false, status: 403, message: `Role ${principal.role} may not use the queue dashboard (allowed: admin)` };
  return { ok: true, principal };
}

const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, message: string, field?: string) =>
  reply.code(status).send(errorBody(status, message, field ? [{ field, reason: message }] : undefined, req.id));

const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Queue dashboard: sign in</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}textarea{width:100%;height:8rem;font-family:monospace}</style></head>
<body><h1>Queue dashboard</h1><p>Paste an access token of the <code>admin</code> role. The session lasts ${DASHBOARD_SESSION_SECONDS / 60} minutes (or until the token expires).</p>
<form method="post" action="${DASHBOARD_PATH}/login"><textarea name="token" required autocomplete="off" spellcheck="false"></textarea><p><button type="submit">Sign in</button></p></form>
</body></html>`;

export async function registerQueueDashboard(fastify: FastifyInstance, options: QueueDashboardOptions): Promise<void> {
  const { tokens } = options;
  const cookieAttributes = `Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict${options.secureCookie ? '; Secure' : ''}`;

  const board = new FastifyAdapter();
  board.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: declaredQueues().map((def) => new BullMQAdapter(options.queues.queue(def))),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'GGZ queues', hideDocsLink: true } },
  });

  await fastify.register(
    async (scope) => {
      // The sign-in form posts application/x-www-form-urlencoded (small: a token).
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
        done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );

      scope.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));

      scope.post('/login', { config: { accepts: ['application/x-www-form-urlencoded'] } }, async (req, reply) => {
        const body = req.body as Record<string, unknown> | undefined;
        const given = typeof body?.token === 'string' ? body.token.trim() : bearer(req);
        if (!given) return refuse(req, reply, 400, 'An admin token is required', 'token');
        // Only a compact JWT goes into the cookie header (nothing that could end or add an attribute).
        if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(given)) return refuse(req, reply, 401, 'The token is invalid or has expired: sign in again', 'token');
        const verdict = await admit(tokens, given);
        if (!verdict.ok) return refuse(req, reply, verdict.status, verdict.message, 'token');
        req.log.info({ msg: 'queue dashboard sign-in', subject: verdict.principal.subject });
        return reply.header('set-cookie', `${DASHBOARD_COOKIE}=${given}; Max-Age=${DASHBOARD_SESSION_SECONDS}; ${cookieAttributes}`).redirect(DASHBOARD_PATH, 303);
      });

      scope.post('/logout', async (_req, reply) => reply.header('set-cookie', `${DASHBOARD_COOKIE}=; Max-Age=0; ${cookieAttributes}`).redirect(`${DASHBOARD_PATH}/login`, 303));

      // Bull Board itself, behind the admin check.
      await scope.register(async (guarded) => {
        guarded.addHook('onRequest', async (req, reply) => {
          const fromHeader = bearer(req);
          const verdict = await admit(tokens, fromHeader ?? cookie(req.headers.cookie, DASHBOARD_COOKIE));
          if (!verdict.ok) {
            // A browser opening the dashboard without a session is sent to the sign-in form.
            if (verdict.status === 401 && req.method === 'GET' && !fromHeader && /\btext\/html\b/.test(req.headers.accept ?? '')) {
              return reply.redirect(`${DASHBOARD_PATH}/login`, 303);
            }
            return refuse(req, reply, verdict.status, verdict.message);
          }
          if (!SAFE_METHODS.has(req.method)) {
            if (!fromHeader) {
              // SameSite=Strict keeps other sites' requests cookie-less; this also refuses sibling
              // subdomains (same site, other origin).
              const site = req.headers['sec-fetch-site'];
              if ((site !== undefined && site !== 'same-origin') || !sameOrigin(req.headers.origin, req.headers.host)) {
                return refuse(req, reply, 403, 'Dashboard actions must come from the dashboard itself');
              }
            }
            if (REFUSED_ROUTES.has(req.routeOptions.url ?? '')) {
              return refuse(req, reply, 403, 'Job data are ids written by the service: the dashboard does not add jobs or edit their data');
            }
            req.log.info({ msg: 'queue dashboard action', subject: verdict.principal.subject, method: req.method, route: req.routeOptions.url });
          }
        });
        await guarded.register(board.registerPlugin());
      });
    },
    { prefix: DASHBOARD_PATH },
  );
}
