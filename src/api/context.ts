import type { Services } from '../jobs/services.ts';
import type { Schedule } from '../jobs/scheduler.ts';
import { messagingConfigFromEnv, type MessagingConfig } from '../messaging/index.ts';

/** What route handlers need: the services, a clock (tests move it), and the job schedule for operator triggers. */
export interface ApiContext {
  svc: Services;
  now: () => number;
  schedule: Schedule;
  /** The messaging settings the service runs with, which a dead-letter replay delivers through; read from the environment when unset. */
  messaging?: MessagingConfig;
}

/** The messaging settings the service runs with: its own, else the environment's. */
export function messagingOf(api: ApiContext): MessagingConfig {
  return api.messaging ?? messagingConfigFromEnv();
}
