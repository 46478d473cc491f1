/** The TTP's public entry point: nothing person-level leaves through here. */
export { TtpModule } from './ttp.module';
export { SnapshotUploadService } from './snapshot-upload.service';
export type { SnapshotFormat, SnapshotReceipt } from './snapshot-upload.service';
export { SNAPSHOT_COLUMNS, ENTRY_STAGES } from './snapshot-entry';
export { LinkageService } from './linkage.service';
export { scheduleNightlyLinkage, TTP_LINKAGE_QUEUE } from './linkage.queue';
export type { LinkageJob } from './linkage.queue';
export type { LinkageRun, RunInput, RunStatus, RunTrigger } from './linkage.service';
export { TtpOutputsService } from './outputs.service';
export type { CleanedWait, FeedbackEntry, MeasuredWait, RunReference } from './outputs.service';
export { insurerReportCsv, REPORT_LEGEND } from './insurer-report';
export type { Count, InsurerReport } from './insurer-report';
/** Synthetic snapshots with a known ground truth, for tests, benchmarks and the demo (no real person in them). */
export { groundTruth, planSnapshots, SNAPSHOT_CSV_HEADER, snapshotCsv, snapshotRows } from './snapshot-generator';
export type { GroundTruth, SnapshotPlan, SnapshotPlanOptions, SnapshotRow } from './snapshot-generator';
