import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { roles } from '../api-keys.ts';
import type { ApiContext } from '../context.ts';
import { errors } from '../schemas.ts';

export const WhoAmI = Type.Object({
  name: Type.String({ description: 'The name the key was created with' }),
  role: Type.Union(roles.map((r) => Type.Literal(r)), { description: 'What the key may call' }),
  reportingTimeZone: Type.String({ description: 'The IANA time zone business days are counted in (TALLY_REPORTING_TZ): revenue days, closed days, job dates', examples: ['Europe/Berlin'] }),
}, { additionalProperties: false });

/** Who the presented key is: the console's sign-in checks a pasted key here. Any valid key may ask. */
export function sessionRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/v1/whoami', {
    config: { roles },
    schema: {
      tags: ['session'], summary: "The calling API key's name and role",
      response: { 200: WhoAmI, ...errors(401, 429) },
    },
  }, async (req) => ({ name: req.apiKey!.name, role: req.apiKey!.role, reportingTimeZone: api.svc.reportingTimeZone }));
}
