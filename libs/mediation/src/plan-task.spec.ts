import { planTask } from './referral-evaluation.service';

const task = (over: Partial<Parameters<typeof planTask>[1] & object> = {}) => ({
  id: 't1',
  referral_id: 'r1',
  status: 'open',
  assignee: null as string | null,
  contacted: false,
  outcome: null as string | null,
  flagged: false,
  ...over,
});

describe('planTask: the phase rule applied to a referral’s one task', () => {
  it.each([
    // [may be offered, task, action, mediation, refresh]
    ['no task, offered', true, undefined, 'create', 'task-created', false],
    ['no task, not offered', false, undefined, 'none', 'not-offered', false],
    ['open unclaimed, offered', true, task(), 'refresh', 'task-updated', false],
    ['open unclaimed, not offered', false, task(), 'withdraw', 'task-withdrawn', false],
    ['claimed without contact, not offered', false, task({ status: 'in-progress', assignee: 'm' }), 'withdraw', 'task-withdrawn', false],
    ['claimed without contact, offered', true, task({ status: 'in-progress', assignee: 'm' }), 'none', 'task-kept', false],
    ['contact under way, not offered', false, task({ status: 'awaiting-patient', assignee: 'm', contacted: true }), 'flag', 'task-flagged', false],
    ['flagged, still not offered', false, task({ status: 'in-progress', assignee: 'm', contacted: true, flagged: true }), 'none', 'task-kept', false],
    ['flagged and claimed, offered again', true, task({ status: 'in-progress', assignee: 'm', contacted: true, flagged: true }), 'allow', 'task-kept', false],
    ['flagged, released to the queue, offered again', true, task({ contacted: true, flagged: true }), 'allow', 'task-updated', true],
    ['released after contact, not offered', false, task({ contacted: true }), 'flag', 'task-flagged', false],
    ['withdrawn by the rule, offered again', true, task({ status: 'closed', outcome: 'phase-withdrawn' }), 'reinstate', 'task-reinstated', false],
    ['withdrawn by the rule, still not offered', false, task({ status: 'closed', outcome: 'phase-withdrawn' }), 'none', 'task-kept', false],
    ['closed by a person, offered', true, task({ status: 'closed', outcome: 'declined', contacted: true }), 'none', 'task-kept', false],
    ['closed by a person, not offered', false, task({ status: 'closed', outcome: 'prefers-to-wait' }), 'none', 'task-kept', false],
  ] as const)('%s', (_name, offer, t, action, mediation, refresh) => {
    expect(planTask(offer, t)).toEqual({ action, mediation, refresh, taskId: t ? 't1' : null });
  });
});
