import { Client } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './unavailable';

/** An error as node-postgres raises it for a server message (code = SQLSTATE). */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isDatabaseUnavailable', () => {
  it('is true for a refused connection (a real one: nothing listens on the port)', async () => {
    const c = new Client({ host: '127.0.0.1', port: 1, user: 'x', database: 'x', connectionTimeoutMillis: 2000 });
    const err = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('is true for shutdown and connection SQLSTATEs, raw or wrapped by TypeORM, and for the driver messages without a code', () => {
    for (const [code, msg] of [
      ['57P01', 'terminating connection due to administrator command'],
      ['57P02', 'terminating connection because of crash of another server process'],
      ['57P03', 'the database system is starting up'],
      ['08006', 'connection failure'],
      ['53300', 'sorry, too many clients already'],
    ]) {
      expect(isDatabaseUnavailable(pgError(code, msg))).toBe(true);
      expect(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], pgError(code, msg)))).toBe(true);
    }
    for (const msg of [
      'Connection terminated unexpectedly',
      'timeout exceeded when trying to connect',
      'Client has encountered a connection error and is not queryable',
      'Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore.',
      'Query runner already released. Cannot run queries anymore.',
    ]) {
      expect(isDatabaseUnavailable(new Error(msg))).toBe(true);
    }
  });

  it('is false for errors of the request or of the code (they stay 4xx/500)', () => {
    expect(isDatabaseUnavailable(new QueryFailedError('INSERT', [], pgError('23505', 'duplicate key value violates unique constraint')))).toBe(false);
    expect(isDatabaseUnavailable(new QueryFailedError('SELEC', [], pgError('42601', 'syntax error at or near "SELEC"')))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('Connection terminated')).toBe(false);
  });
});
