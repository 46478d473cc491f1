/** Takes `ttp-linkage` jobs: an on-demand run by its id, or the nightly run the scheduler starts. */
import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { LinkageJob, LinkageRun, LinkageService, TTP_LINKAGE_QUEUE } from '@app/ttp';
import type { Consumer } from './job';

@Injectable()
export class TtpLinkageConsumer implements Consumer<LinkageJob> {
  readonly queue = TTP_LINKAGE_QUEUE;
  // A run over a million entries takes seconds; the lock must outlast it comfortably.
  readonly lockDurationMs = 5 * 60 * 1000;

  constructor(private readonly linkage: LinkageService) {}

  concurrency(): number {
    return 1;
  }

  async handle(job: Job<LinkageJob>): Promise<Pick<LinkageRun, 'id' | 'status' | 'sameAs'>> {
    const run = job.data?.runId ? await this.linkage.execute(job.data.runId) : await this.linkage.runNow('nightly', 'scheduler');
    return { id: run.id, status: run.status, sameAs: run.sameAs };
  }
}
