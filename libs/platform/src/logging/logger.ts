/**
 * JSON logs through pino, shared by Fastify (request logs with request ids) and Nest (via
 * PinoNestLogger). Request logs carry method, path and status only: never bodies or headers,
 * and digit runs that could be a BSN are masked in paths.
 */
import type { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { findBsnLike } from '@app/core';

// Eight or nine digits standing alone (not part of a UUID or a longer number).
const BSN_LIKE = /(?<![0-9A-Za-z])\d{8,9}(?![0-9A-Za-z])/g;

/**
 * A path for the logs: percent-escapes decoded (where they decode), then every run of eight or
 * nine digits and every BSN-like number in another notation ("123.456.782", "123%20456%20782",
 * full-width digits; see findBsnLike) starred out entirely.
 */
export function maskDigits(text: string): string {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    // Not valid percent-encoding: masked as sent.
  }
  const hits = findBsnLike(decoded, { wordBoundary: true });
  let out = '';
  let at = 0;
  for (const h of hits) {
    out += decoded.slice(at, h.index) + '*'.repeat(h.length);
    at = h.index + h.length;
  }
  return (out + decoded.slice(at)).replace(BSN_LIKE, (m) => '*'.repeat(m.length));
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: maskDigits(req.url ?? '') }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** Routes Nest's own log calls into the same pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string) {
    this.write('info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string) {
    this.write('error', message, context ?? stackOrContext);
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }

  private write(level: pino.Level, message: unknown, context?: string) {
    if (message !== null && typeof message === 'object') this.logger[level]({ context, ...(message as object) });
    else this.logger[level]({ context }, String(message));
  }
}
