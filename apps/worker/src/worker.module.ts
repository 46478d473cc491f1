import { DynamicModule, Module } from '@nestjs/common';
import { JobMetrics, PlatformModule, PlatformOptions } from '@app/platform';
import { MediationModule } from '@app/mediation';
import { ReferralsModule } from '@app/referrals';
import { TtpModule } from '@app/ttp';
import { EvaluateReferralProcessor } from './referrals/evaluate-referral.processor';
import { LinkageProcessor } from './ttp/linkage.processor';
import { MetricsServerService } from './metrics-server.service';

@Module({})
export class WorkerModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [PlatformModule.forRoot(platform), ReferralsModule, MediationModule, TtpModule],
      providers: [JobMetrics, EvaluateReferralProcessor, LinkageProcessor, MetricsServerService],
    };
  }
}
