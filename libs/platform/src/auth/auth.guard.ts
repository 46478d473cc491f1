/**
 * The one gate for every route: no declaration → refused (fail closed); @Public → open;
 * @Roles → a valid bearer token with one of those roles. Tenant checks (which UZOVI or AGB)
 * belong to the handlers, which know what the tenant of the resource is.
 */
import { CanActivate, ExecutionContext, ForbiddenException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import type { Role } from './roles';
import { TokenError, TokenService } from './token.service';

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly logger = new Logger(AuthGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
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
    try {
      req.principal = this.tokens.verify(m[1]);
    } catch (e) {
      if (e instanceof TokenError) throw new UnauthorizedException(e.message);
      throw e;
    }
    if (!roles.includes(req.principal.role)) {
      throw new ForbiddenException(`Role ${req.principal.role} may not call this route (allowed: ${roles.join(', ')})`);
    }
    return true;
  }
}
