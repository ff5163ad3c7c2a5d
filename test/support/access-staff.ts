import type { Row } from './access';
import { api } from './builders';
import { createStaffCommand } from '../../src/staff/commands';
import { testEnv } from './env';
import { ROLES } from '../../src/auth/principal';

const ADMIN = ['admin'] as const;
let seq = 0;
const login = () => `acc-${process.pid % 10000}-${++seq}-${Math.random().toString(36).slice(2, 6)}`;

/** Staff routes × roles × court scope (see test/api/access.test.ts): the fixtures' people work in court 1411. */
export const staffAccessRows: Row[] = [
  { route: 'GET /v1/me', roles: ROLES, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/me').set(h) },
  { route: 'GET /v1/staff', roles: ADMIN, ok: 200, otherCourt: 200, call: (_f, h) => api().get('/v1/staff').set(h) },
  {
    route: 'POST /v1/staff', roles: ADMIN, ok: 201, otherCourt: 403,
    call: (_f, h) => api().post('/v1/staff').set(h).send({ login: login(), name: '访问测试', roles: ['clerk'], courts: ['1411'] }),
  },
  {
    route: 'PATCH /v1/staff/{login}', roles: ADMIN, ok: 200, otherCourt: 404,
    call: async (_f, h) => {
      const { staff } = await createStaffCommand(testEnv().knex, testEnv().config, { login: login(), name: '访问测试', roles: 'clerk', courts: '1411' });
      return api().patch(`/v1/staff/${staff.login}`).set(h).send({ name: '改名' });
    },
  },
];
