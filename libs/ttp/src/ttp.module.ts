import { Module } from '@nestjs/common';
import { LinkageService } from './linkage.service';
import { TtpOutputsService } from './outputs.service';
import { SnapshotUploadService } from './snapshot-upload.service';

/**
 * The trusted third party: waiting-list snapshots, pseudonymisation, linkage runs and what they
 * produce. Its schema `ttp` is read and written only from here; other modules use what index.ts
 * exports, and nothing exported hands out a pseudonym or a person.
 */
@Module({
  providers: [SnapshotUploadService, LinkageService, TtpOutputsService],
  exports: [SnapshotUploadService, LinkageService, TtpOutputsService],
})
export class TtpModule {}
