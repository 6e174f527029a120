import type { Services } from '../jobs/services.ts';
import type { Schedule } from '../jobs/scheduler.ts';

/** What route handlers need: the services, a clock (tests move it), and the job schedule for operator triggers. */
export interface ApiContext {
  svc: Services;
  now: () => number;
  schedule: Schedule;
}
