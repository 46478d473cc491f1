import { DynamicModule, Module } from '@nestjs/common';
import { JobMetrics, PlatformModule, PlatformOptions } from '@app/platform';
import { MediationModule } from '@app/mediation';
import { ReferralsModule } from '@app/referrals';
import { TtpModule } from '@app/ttp';
import { CONSUMERS, SCHEDULES } from './jobs';
import { JobRunner } from './jobs/job-runner';
import { MetricsServerService } from './metrics-server.service';

@Module({})
export class WorkerModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [PlatformModule.forRoot(platform), ReferralsModule, MediationModule, TtpModule],
      providers: [JobMetrics, ...CONSUMERS, ...SCHEDULES, JobRunner, MetricsServerService],
    };
  }
}
