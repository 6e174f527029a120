import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFound } from '../../domain/errors.ts';
import { inProcessBus } from '../../messaging/bus.ts';
import { transportKind, type DeadLetter, type MessagingConfig } from '../../messaging/index.ts';
import { withConfiguredMessaging } from '../../operations/messaging-operations.ts';
import { messagingOf, type ApiContext } from '../context.ts';
import { HttpProblem } from '../problem.ts';
import { errors } from '../schemas.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const DeadLetterView = Type.Object({
  id: Type.String({ description: 'the dead_letters row, as `tally dlq show ID` takes it' }),
  consumer: Type.String({ description: 'the consumer that gave up on the message (member-webhook, legacy-backsync…)' }),
  eventId: Type.String(), type: Type.String({ description: 'the event type' }),
  attempts: Type.Integer({ description: 'deliveries tried in all, earlier replays included' }),
  error: Type.String({ description: 'what the last attempt failed with' }), failedAt: Type.String(),
  message: Nullable(Type.Object({ id: Type.String(), type: Type.String(), memberId: Type.String(), occurredOn: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
  raw: Type.Optional(Type.String({ description: 'the stored body, for a message that could not be decoded (message is then null)' })),
});
const ListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: '100 when not given' })) }, { additionalProperties: false });
const DeadLetterParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'a dead letter\'s id, a positive whole number' }) }, { additionalProperties: false });

const tags = ['admin'];
const where = 'Only the embedded transport\'s dead_letters table is read and replayed here. With RabbitMQ (TALLY_AMQP_URL) '
  + 'the broker\'s dead-letter queues are not: reading one means taking every message off the queue unacknowledged and '
  + 'letting the channel put them back, a walk of the whole queue per look that hides its messages from a concurrent '
  + 'replay or purge meanwhile; they stay with `tally dlq list|show|replay --transport amqp`.';

/**
 * Dead letters for the operator console: the embedded dead_letters table listed and shown as
 * `tally dlq` shows them, and one replayed through the same consumers `tally dlq replay ID`
 * opens, audited.
 */
export function deadLetterRoutes(app: FastifyInstance, api: ApiContext): void {
  const { db } = api.svc.store;
  // Reading needs no consumer: the table as the embedded bus sees it, without opening back-sync's legacy database for a look.
  const parked = inProcessBus(db).deadLetters;

  app.get('/v1/admin/dead-letters', {
    config: { roles: ['admin'] },
    schema: {
      tags, summary: 'Dead letters parked by the embedded transport, oldest first', description: where, querystring: ListQuery,
      response: {
        200: Type.Object({
          transport: Type.Union([Type.Literal('embedded'), Type.Literal('amqp')], { description: 'the transport the service is configured with; with amqp, the broker\'s dead letters are not in this list' }),
          deadLetters: Type.Array(DeadLetterView),
        }),
        ...errors(400, 401, 403, 429),
      },
    },
  }, async (req) => {
    const { limit = 100 } = req.query as Static<typeof ListQuery>;
    return { transport: transportKind(messagingOf(api)), deadLetters: await parked.list(limit) };
  });

  app.get('/v1/admin/dead-letters/:id', {
    config: { roles: ['admin'] },
    schema: { tags, summary: 'One dead letter with its message and error', description: where, params: DeadLetterParams, response: { 200: DeadLetterView, ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => found((req.params as Static<typeof DeadLetterParams>).id));

  app.post('/v1/admin/dead-letters/:id/replay', {
    config: { roles: ['admin'] },
    schema: {
      tags, summary: 'Deliver a dead letter again to the consumer that gave up on it (Idempotency-Key required, audited)',
      description: `What \`tally dlq replay ID\` does, with one attempt at the partner webhook instead of its retry schedule (an operator `
        + 'is waiting for the answer; a replay can be asked again): the answer comes once the consumer has taken it (200; the dead letter is gone) '
        + 'or has failed again (502; it stays parked '
        + 'with the new error and attempts). 503: the consumer is not configured in this service (TALLY_WEBHOOK_URL for member-webhook, '
        + `TALLY_LEGACY_URL for back-sync), so nothing was delivered. ${where}`,
      params: DeadLetterParams,
      response: { 200: Type.Object({ replayed: Type.Integer(), deadLetter: DeadLetterView }), ...errors(400, 401, 403, 404, 409, 422, 429, 502, 503) },
    },
  }, async (req) => {
    const { id } = req.params as Static<typeof DeadLetterParams>;
    // A replay hands a message to a partner's endpoint or the legacy database; the key lets a retry after a lost answer find that answer instead of guessing.
    if (!req.idempotency) throw new HttpProblem(400, 'Idempotency-Key is required to replay a dead letter', 'Idempotency-Key');
    const before = await found(id);
    const outcome = await withConfiguredMessaging(api.svc, 'embedded', async (messaging) => {
      if (!messaging.consumers.some((c) => c.name === before.consumer)) {
        throw new HttpProblem(503, `consumer "${before.consumer}" is not configured in this service (TALLY_WEBHOOK_URL for member-webhook, TALLY_LEGACY_URL for back-sync), so dead letter ${id} cannot be delivered; it stays parked`, 'consumer');
      }
      return messaging.deadLetters.replay(id);
    }, { config: oneAttemptNow(messagingOf(api)) });
    const after = outcome.failed ? await parked.show(id) : undefined;
    await audit(req, before, after);
    if (after) throw new HttpProblem(502, `consumer "${after.consumer}" failed again: ${after.error}. Dead letter ${id} stays parked (${after.attempts} attempts).`, 'consumer');
    return { replayed: outcome.replayed, deadLetter: before };
  });

  async function found(id: string): Promise<DeadLetter> {
    const entry = await parked.show(id);
    if (!entry) throw new NotFound('id', `no dead letter ${id}: it may have been replayed or purged already`, id);
    return entry;
  }

  /** In the audit log under the event's member, so their trail shows what was delivered about them again, and a forget erases it with the rest. */
  async function audit(req: FastifyRequest, before: DeadLetter, after: DeadLetter | undefined): Promise<void> {
    await api.svc.memberStore.db.insertInto('audit_log').values({
      at: new Date(api.now()).toISOString(), actor: `${req.apiKey!.name} (${req.apiKey!.id})`.slice(0, 160),
      action: after ? 'dead_letter.replay_failed' : 'dead_letter.replayed', member_id: (before.message?.memberId ?? '').slice(0, 64), reason: '',
      request: JSON.stringify({ deadLetter: before.id, consumer: before.consumer, eventId: before.eventId, type: before.type }),
      before: JSON.stringify({ attempts: before.attempts, error: before.error, failedAt: before.failedAt }),
      after: JSON.stringify(after ? { attempts: after.attempts, error: after.error, failedAt: after.failedAt } : { replayed: true }),
    }).execute();
  }
}

/**
 * The webhook's retry schedule is minutes long (8 attempts, backing off to a minute): right for
 * the relay, wrong for a request an operator waits on. One attempt, and a failure stays parked.
 */
function oneAttemptNow(config: MessagingConfig): MessagingConfig {
  return { ...config, webhookTuning: { ...config.webhookTuning, maxAttempts: 1 } };
}
