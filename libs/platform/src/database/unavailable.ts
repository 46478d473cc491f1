/**
 * Whether an error means "the database cannot be reached right now" — Postgres restarting, our
 * connection terminated (pg_terminate_backend, a failover), the server refusing connections —
 * rather than a fault in the request or in our code. The HTTP filter answers those with 503 and
 * Retry-After (the client should simply try again; readiness says the same), other errors 500.
 * TypeORM wraps query errors (QueryFailedError, `driverError`); errors from taking a connection
 * out of the pool arrive as they are.
 */

/** SQLSTATE classes and codes: 08 connection exception; 57P01–57P03 shutdown / cannot connect now; 53300 too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);
/**
 * node-postgres and pg-pool raise these without a code; TypeORM releases a query runner whose
 * connection failed, so the next statement of that transaction fails with the last two.
 */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end|Database connection provided by a query runner was already released|Query runner already released)/;

export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 3) return false;
  const err = e as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof err.code === 'string' && (UNAVAILABLE_SQLSTATE.test(err.code) || UNAVAILABLE_ERRNO.has(err.code))) return true;
  if (typeof err.message === 'string' && UNAVAILABLE_MESSAGE.test(err.message)) return true;
  // AggregateError (a host with several addresses, all refused), TypeORM's wrapper, a cause.
  if (Array.isArray(err.errors) && err.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(err.driverError, depth + 1) || isDatabaseUnavailable(err.cause, depth + 1);
}
