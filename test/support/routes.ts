/**
 * Reads the route table from the running Nest app: every controller method with its HTTP
 * method, path and access declaration. Tests built on it cover new routes automatically.
 */
import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { PUBLIC_KEY, Role, ROLES_KEY } from '@app/platform';

export interface RouteInfo {
  method: string;
  path: string;
  handler: string;
  public: boolean;
  roles: Role[] | undefined;
}

export function routeTable(app: INestApplication): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const ctrl = wrapper.metatype as any;
      if (!ctrl?.prototype) continue;
      const base: string = Reflect.getMetadata(PATH_METADATA, ctrl) ?? '';
      for (const name of Object.getOwnPropertyNames(ctrl.prototype)) {
        const fn = ctrl.prototype[name];
        if (name === 'constructor' || typeof fn !== 'function') continue;
        const sub: string | undefined = Reflect.getMetadata(PATH_METADATA, fn);
        const method: RequestMethod | undefined = Reflect.getMetadata(METHOD_METADATA, fn);
        if (sub === undefined || method === undefined) continue;
        const path = ('/' + [base, sub].filter((p) => p && p !== '/').join('/')).replace(/\/+/g, '/');
        routes.push({
          method: RequestMethod[method],
          path,
          handler: `${ctrl.name}.${name}`,
          public: Reflect.getMetadata(PUBLIC_KEY, fn) ?? Reflect.getMetadata(PUBLIC_KEY, ctrl) ?? false,
          roles: Reflect.getMetadata(ROLES_KEY, fn) ?? Reflect.getMetadata(ROLES_KEY, ctrl),
        });
      }
    }
  }
  return routes;
}
