import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { defaultArchiveRoot, forgetMember } from '../../archive/forget-member.ts';
import { JobBusy } from '../../jobs/job-lock.ts';
import type { ApiContext } from '../context.ts';
import { HttpProblem } from '../problem.ts';
import { errors, MemberParams } from '../schemas.ts';

const ForgetBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500, description: 'why: the member\'s request, a ticket' }) }, { additionalProperties: false });
const Count = Type.Integer({ minimum: 0 });
const Forgotten = Type.Object({
  memberId: Type.String(), forgottenAt: Type.String(), forgottenBy: Type.String(), reason: Type.String(),
  filesRewritten: Count, alreadyForgotten: Type.Boolean({ description: 'forgotten before: nothing was done this time' }),
  scrubbed: Type.Object({
    member: Type.Boolean(), auditRows: Count, outboxRows: Count, quarantineRows: Count, idempotencyKeys: Count, deadLetters: Count, rejectedFilesRemoved: Count,
  }),
});

/**
 * POST /v1/admin/members/{id}/forget: the member's email and payment token removed from the
 * hot store and the archive (archive/forget-member.ts), audited under the calling key; a
 * second call answers with the first one's record and changes nothing.
 */
export function forgetRoute(app: FastifyInstance, api: ApiContext): void {
  app.post('/v1/admin/members/:id/forget', {
    config: { roles: ['admin'] },
    schema: {
      tags: ['admin'], summary: 'Forget a member: email and payment token removed from the hot store and the archive; financial records stay under the member id',
      params: MemberParams, body: ForgetBody, response: { 200: Forgotten, ...errors(400, 401, 403, 404, 409, 422, 429) },
    },
  }, async (req) => {
    const { id } = req.params as Static<typeof MemberParams>;
    const { reason } = req.body as Static<typeof ForgetBody>;
    try {
      return await forgetMember({ ledger: api.svc.store.db, member: api.svc.memberStore.db }, {
        memberId: id, reason, by: `${req.apiKey!.name} (${req.apiKey!.id})`, root: defaultArchiveRoot(), at: new Date(api.now()).toISOString(),
      });
    } catch (err) {
      // The archive's lease: an archive run or another forget is at work; the same call later does it.
      if (err instanceof JobBusy) throw new HttpProblem(409, err.message, 'id');
      throw err;
    }
  });
}
