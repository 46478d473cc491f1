/**
 * A queue is declared once, by the lib whose code produces its jobs, in a file of its own
 * (`*.queue.ts`): its name, the type of its jobs' data and the producer. The worker registers
 * exactly one consumer for each declared queue and refuses to start otherwise
 * (apps/worker/src/jobs/job-runner.ts); the API's metrics and queue dashboard list the declared
 * queues. Job data are ids only, never personal data.
 */
export interface QueueDef<T> {
  readonly name: string;
  /** Never set: carries the job data type. */
  readonly data?: T;
}

const declared = new Map<string, QueueDef<unknown>>();

export function defineQueue<T>(name: string): QueueDef<T> {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) throw new Error(`queue name "${name}" must be lower-case letters, digits and -`);
  if (declared.has(name)) throw new Error(`queue "${name}" is declared twice`);
  const def: QueueDef<T> = { name };
  declared.set(name, def);
  return def;
}

/** Every queue declared by the libs this process loaded, by name. */
export function declaredQueues(): QueueDef<unknown>[] {
  return [...declared.values()].sort((a, b) => a.name.localeCompare(b.name));
}
