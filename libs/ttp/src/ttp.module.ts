import { Module } from '@nestjs/common';
import { SnapshotUploadService } from './snapshot-upload.service';

/**
 * The trusted third party: waiting-list snapshots, pseudonymisation and (next) linkage and its
 * reports. Its schema `ttp` is read and written only from here; other modules use what index.ts
 * exports.
 */
@Module({
  providers: [SnapshotUploadService],
  exports: [SnapshotUploadService],
})
export class TtpModule {}
