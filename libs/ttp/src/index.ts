/** The TTP's public entry point: nothing person-level leaves through here. */
export { TtpModule } from './ttp.module';
export { SnapshotUploadService } from './snapshot-upload.service';
export type { SnapshotFormat, SnapshotReceipt } from './snapshot-upload.service';
export { SNAPSHOT_COLUMNS, ENTRY_STAGES } from './snapshot-entry';
