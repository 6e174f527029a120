import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { roles } from '../api-keys.ts';
import { errors } from '../schemas.ts';

export const WhoAmI = Type.Object({
  name: Type.String({ description: 'The name the key was created with' }),
  role: Type.Union(roles.map((r) => Type.Literal(r)), { description: 'What the key may call' }),
}, { additionalProperties: false });

/** Who the presented key is: the console's sign-in checks a pasted key here. Any valid key may ask. */
export function sessionRoutes(app: FastifyInstance): void {
  app.get('/v1/whoami', {
    config: { roles },
    schema: {
      tags: ['session'], summary: "The calling API key's name and role",
      response: { 200: WhoAmI, ...errors(401, 429) },
    },
  }, async (req) => ({ name: req.apiKey!.name, role: req.apiKey!.role }));
}
