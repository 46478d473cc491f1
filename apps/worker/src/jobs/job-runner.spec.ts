/**
 * The worker refuses to start unless every declared queue has exactly one consumer and every
 * schedule a name of its own — checked on the real lists the worker registers, and shown to fail
 * on each kind of mistake.
 */
import { declaredQueues, defineQueue } from '@app/platform';
import { EVALUATE_REFERRAL_QUEUE } from '@app/referrals';
import { TTP_LINKAGE_QUEUE } from '@app/ttp';
import type { Consumer, Schedule } from './job';
import { registrationProblems } from './job-runner';
import { CONSUMERS, SCHEDULES } from './index';

const consumer = (queue: { name: string }): Consumer => ({ queue, concurrency: () => 1, handle: async () => undefined });
const schedule = (name: string): Schedule => ({ name, everyMs: () => 1000, run: async () => undefined });

it('the worker as registered has one consumer per declared queue and unique schedule names', () => {
  // The real classes, built without the services they call (only their queue and name are read).
  const consumers = CONSUMERS.map((c) => new (c as new () => Consumer)());
  const schedules = SCHEDULES.map((s) => new (s as new () => Schedule)());
  expect(declaredQueues().map((q) => q.name)).toEqual(['evaluate-referral', 'ttp-linkage']);
  expect(registrationProblems(declaredQueues(), consumers, schedules)).toEqual([]);
  expect(schedules.map((s) => s.name).sort()).toEqual([
    'access-log-seal',
    'daily-reevaluation',
    'evaluation-catch-up',
    'retention',
    'stale-claims',
    'sweep-pending',
    'ttp-linkage-recovery',
    'ttp-linkage-scheduler',
  ]);
});

it('refuses a declared queue without a consumer, one with two, a consumer of an undeclared queue, and a schedule name used twice', () => {
  const declared = [EVALUATE_REFERRAL_QUEUE, TTP_LINKAGE_QUEUE];
  expect(registrationProblems(declared, [consumer(EVALUATE_REFERRAL_QUEUE)], [])).toEqual(['queue "ttp-linkage" is declared but has no consumer in the worker']);
  expect(registrationProblems(declared, [consumer(EVALUATE_REFERRAL_QUEUE), consumer(TTP_LINKAGE_QUEUE), consumer(TTP_LINKAGE_QUEUE)], [])).toEqual([
    'queue "ttp-linkage" has 2 consumers',
  ]);
  expect(registrationProblems(declared, [consumer(EVALUATE_REFERRAL_QUEUE), consumer(TTP_LINKAGE_QUEUE), consumer({ name: 'reports' })], [])).toEqual([
    'a consumer takes queue "reports", which no lib declares',
  ]);
  expect(registrationProblems(declared, [consumer(EVALUATE_REFERRAL_QUEUE), consumer(TTP_LINKAGE_QUEUE)], [schedule('sweep'), schedule('sweep')])).toEqual([
    'schedule "sweep" is registered twice',
  ]);
});

it('a queue is declared once, with a plain name', () => {
  expect(() => defineQueue('evaluate-referral')).toThrow('queue "evaluate-referral" is declared twice');
  expect(() => defineQueue('Evaluate Referral')).toThrow(/must be lower-case letters, digits and -/);
});
