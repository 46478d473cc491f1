import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PlatformModule, PlatformOptions } from '@app/platform';
import { ReferralsModule } from '@app/referrals';
import { WhoamiController } from './auth/whoami.controller';
import { ReferralsController } from './intake/referrals.controller';
import { HealthController } from './ops/health.controller';

@Module({})
export class ApiModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [PlatformModule.forRoot(platform), ReferralsModule],
      controllers: [ReferralsController, HealthController, WhoamiController],
      providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
    };
  }
}
