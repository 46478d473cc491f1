/**
 * The one gate for every route: no declaration → refused (fail closed); @Public → open;
 * @Roles → a valid bearer token with one of those roles (or, on a route also marked
 * @AcceptsMetricsToken, the METRICS_TOKEN secret). Tenant checks (which UZOVI or AGB)
 * belong to the handlers, which know what the tenant of the resource is.
 */
import { CanActivate, ExecutionContext, ForbiddenException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MetricsAccess } from '../metrics/metrics';
import { METRICS_TOKEN_KEY, PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import type { Principal, Role } from './roles';
import { TokenError, TokenService } from './token.service';

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger(AuthGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly metricsAccess: MetricsAccess,
  ) {}

  canActivate(ctx: ExecutionContext): boolean | Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets);
    if (!roles) {
      this.logger.error(`Route ${ctx.getClass().name}.${ctx.getHandler().name} declares no roles; refusing`);
      throw new ForbiddenException('This route is not open to any role');
    }
    const req = ctx.switchToHttp().getRequest();
    const header: unknown = req.headers?.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) throw new UnauthorizedException('A bearer token is required (Authorization: Bearer <token>)');
    // A scraper's METRICS_TOKEN is no JWT: admitted only on routes marked @AcceptsMetricsToken.
    if (this.metricsAccess.tokenConfigured && this.reflector.getAllAndOverride<boolean>(METRICS_TOKEN_KEY, targets) && this.metricsAccess.isMetricsToken(m[1])) return true;
    // Synchronous unless the token's key must first be fetched (JWKS, unknown kid).
    let principal: Principal | Promise<Principal>;
    try {
      principal = this.tokens.authenticate(m[1]);
    } catch (e) {
      throw refusal(e);
    }
    if (principal instanceof Promise) {
      return principal.then(
        (p) => admit(req, p, roles),
        (e) => {
          throw refusal(e);
        },
      );
    }
    return admit(req, principal, roles);
  }
}

function refusal(e: unknown): unknown {
  return e instanceof TokenError ? new UnauthorizedException(e.message) : e;
}

function admit(req: { principal?: Principal }, principal: Principal, roles: Role[]): true {
  req.principal = principal;
  if (!roles.includes(principal.role)) {
    throw new ForbiddenException(`Role ${principal.role} may not call this route (allowed: ${roles.join(', ')})`);
  }
  return true;
}
