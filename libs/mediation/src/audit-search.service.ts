/**
 * An auditor's search of the access log, with its rules in one place for every caller (the
 * JSON route, the query route, CSV): the token acts for exactly one insurer, whose organisation
 * bounds the search; the period runs from `from`'s to after `to`'s Amsterdam midnight; a BSN is
 * turned into the index the log knows the person by and never kept; every search is itself an
 * entry (`audit-read`).
 */
import { BadRequestException, Injectable } from '@nestjs/common';
import { amsterdamMidnight, nextDay, normaliseBsn } from '@app/core';
import { AuditService, BsnVault, Principal, StoredAuditEntry } from '@app/platform';
import type { AuditSearchDto } from './audit-search.dto';

@Injectable()
export class AuditSearchService {
  constructor(
    private readonly audit: AuditService,
    private readonly vault: BsnVault,
  ) {}

  async search(body: AuditSearchDto, caller: Principal): Promise<StoredAuditEntry[]> {
    if (caller.uzovis.length !== 1) {
      throw new BadRequestException({ message: 'The search is ambiguous', details: [{ field: 'uzovi', reason: 'an auditor token must act for exactly one insurer' }] });
    }
    if (body.from && body.to && body.to < body.from)
      throw new BadRequestException({ message: 'The period is invalid', details: [{ field: 'to', reason: 'must not be before from' }] });
    const personIndex = body.bsn === undefined ? undefined : this.vault.auditIndex(normaliseBsn(body.bsn));
    const entries = await this.audit.search({
      personIndex,
      actor: body.actor,
      organisation: caller.uzovis[0],
      from: body.from && amsterdamMidnight(body.from),
      to: body.to && amsterdamMidnight(nextDay(body.to)),
      limit: body.limit ?? 1000,
    });
    await this.audit.record([
      {
        actor: caller,
        personIndex: personIndex ?? null,
        action: 'audit-read',
        resource: 'access-log',
        purpose: 'audit',
        outcome: 'allowed',
        details: { byPerson: personIndex !== undefined, actor: body.actor ?? null, from: body.from ?? null, to: body.to ?? null, found: entries.length },
      },
    ]);
    return entries;
  }
}
