import { Module } from '@nestjs/common';
import { WaitTimesService } from './wait-times.service';
import { ProviderRegistryService } from './provider-registry.service';

/** Providers, locations, insurer contracts and published waiting times. */
@Module({
  providers: [WaitTimesService, ProviderRegistryService],
  exports: [WaitTimesService, ProviderRegistryService],
})
export class WaitlistsModule {}
