import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../http/error-response.dto';
import type { Principal, Role } from './roles';

export const ROLES_KEY = 'auth:roles';
export const PUBLIC_KEY = 'auth:public';

/** Declares which roles may call a route. Every route declares this or @Public(). */
export const Roles = (...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No bearer token, or it is invalid or expired', type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: `Role not allowed (allowed: ${roles.join(', ')}) or wrong tenant`, type: ErrorResponseDto }),
  );

/** Marks a route that, besides its @Roles, admits the METRICS_TOKEN bearer (a Prometheus scraper has no JWT). */
export const METRICS_TOKEN_KEY = 'auth:metrics-token';
export const AcceptsMetricsToken = () => SetMetadata(METRICS_TOKEN_KEY, true);

/** Declares a route open to anyone (health checks, API docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest().principal;
});
