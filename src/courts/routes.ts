import { courtFilter } from '../auth/principal';
import type { RouteDef } from '../http/route';
import { json, listOf, ref } from '../http/schemas';
import { listCourts } from './courts';

export const courtRoutes: RouteDef[] = [
  {
    method: 'get',
    path: '/v1/courts',
    summary: 'The courts this key may see',
    tag: 'courts',
    access: 'any_key',
    responses: { 200: json('{ data: [{ code, name, level, timeZone, designation }] }', listOf(ref('Court'), false)) },
    async read({ db, principal }) {
      const courts = await listCourts(db, courtFilter(principal));
      return { status: 200, body: { data: courts.map(({ code, name, level, timeZone, designation }) => ({ code, name, level, timeZone, designation })) } };
    },
  },
];
