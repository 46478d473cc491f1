import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PlatformModule, PlatformOptions } from '@app/platform';
import { MediationModule } from '@app/mediation';
import { ReferralsModule } from '@app/referrals';
import { TtpModule } from '@app/ttp';
import { WaitlistsModule } from '@app/waitlists';
import { WhoamiController } from './auth/whoami.controller';
import { ConsentWithdrawalsController } from './intake/consent-withdrawals.controller';
import { ReactiveSearchController } from './intake/reactive-search.controller';
import { AuditController } from './ops/audit.controller';
import { ReferralsController } from './intake/referrals.controller';
import { EvaluationsController } from './mediation/evaluations.controller';
import { NormsController } from './mediation/norms.controller';
import { WaitTimesController } from './mediation/wait-times.controller';
import { WorklistController } from './mediation/worklist.controller';
import { HealthController } from './ops/health.controller';
import { MetricsController } from './ops/metrics.controller';
import { OpsMetricsService } from './ops/ops-metrics.service';
import { TtpOutputsController } from './ttp/outputs.controller';
import { RunsController } from './ttp/runs.controller';
import { SnapshotsController } from './ttp/snapshots.controller';
import { ProvidersController } from './providers/providers.controller';
import { RegistryImportController } from './providers/registry-import.controller';
import { FhirBundleController } from './intake/fhir-bundle.controller';
import { MediationReportController } from './reports/mediation-report.controller';

@Module({})
export class ApiModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [PlatformModule.forRoot(platform), ReferralsModule, WaitlistsModule, MediationModule, TtpModule],
      controllers: [
        ReactiveSearchController,
        ReferralsController,
        FhirBundleController,
        ConsentWithdrawalsController,
        AuditController,
        HealthController,
        MetricsController,
        WhoamiController,
        WaitTimesController,
        NormsController,
        EvaluationsController,
        WorklistController,
        ProvidersController,
        RegistryImportController,
        SnapshotsController,
        RunsController,
        TtpOutputsController,
        MediationReportController,
      ],
      providers: [{ provide: APP_GUARD, useClass: AuthGuard }, OpsMetricsService],
    };
  }
}
