import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-key-store';
import { ROLES, type Role } from '../auth/principal';
import { loadConfig } from '../config';
import { syncCourts } from '../courts/courts';
import { openDatabase } from '../db';
import { setLogLevel } from '../shared/logger';
import { staffCommand } from './staff';
import { auditVerifyCommand } from './audit';

const USAGE = `usage:
  npm run cli -- keys create --role ROLE --courts CODE[,CODE...]|all --name TEXT [--owner LOGIN]
  npm run cli -- keys revoke KEY_ID
  npm run cli -- keys list
  npm run cli -- audit verify [--court CODE|global] [--from YYYY-MM-DD]
  npm run cli -- staff create --login LOGIN --name NAME --roles ROLE[,ROLE...] --courts CODE[,CODE...]|all [--password-stdin]
  npm run cli -- staff list
  npm run cli -- staff disable LOGIN
  npm run cli -- migrate
roles: ${ROLES.join(', ')}`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string' }, courts: { type: 'string' }, name: { type: 'string' }, court: { type: 'string' }, from: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      owner: { type: 'string' }, login: { type: 'string' }, roles: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  });
  const [group, verb, arg] = positionals;
  if (values.help || !group) return void console.log(USAGE);
  const known = (group === 'keys' && ['create', 'revoke', 'list'].includes(verb)) || (group === 'audit' && verb === 'verify') || (group === 'staff' && ['create', 'list', 'disable'].includes(verb)) || group === 'migrate';
  if (!known) fail(USAGE);
  if (group === 'keys' && verb === 'create') {
    if (!values.role || !ROLES.includes(values.role as Role)) fail(`--role must be one of: ${ROLES.join(', ')}`);
    if (!values.courts) fail('--courts is required: a comma-separated list of court codes, or all');
    if (!values.name?.trim()) fail('--name is required: who or what the key is for');
  }
  if (group === 'keys' && verb === 'revoke' && !arg) fail('keys revoke needs the key id (key_…), see keys list');
  if (group === 'staff' && verb === 'create' && (!values.login || !values.name?.trim() || !values.roles || !values.courts)) fail('staff create needs --login, --name, --roles and --courts');
  if (group === 'staff' && verb === 'disable' && !arg) fail('staff disable needs the login');
  // Read before the database opens: a password piped in for automation, never a command-line argument.
  const password = group === 'staff' && values['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : undefined;

  const config = loadConfig();
  setLogLevel('warn');
  const db = await openDatabase(config);
  try {
    await syncCourts(db.knex, config.courts);
    if (group === 'migrate') return void console.log('migrations are current');
    if (group === 'staff') return await staffCommand(db.knex, config, verb, arg, { login: values.login!, name: values.name!, roles: values.roles!, courts: values.courts!, password });
    if (group === 'audit') return void (process.exitCode = await auditVerifyCommand(db.knex, { court: values.court, from: values.from }));
    if (verb === 'create') {
      const courts = values.courts === 'all' ? 'all' : values.courts!.split(',').map((c) => c.trim()).filter(Boolean);
      const { id, key } = await createApiKey(db.knex, config.auth, { role: values.role as Role, courts, name: values.name!.trim(), owner: values.owner });
      console.log(`Created API key ${id} (role ${values.role}, courts ${values.courts}, name "${values.name!.trim()}").`);
      console.log('It is shown only this once; only its hash is stored:');
      console.log(key);
    } else if (verb === 'revoke') {
      await revokeApiKey(db.knex, arg);
      console.log(`Revoked API key ${arg}.`);
    } else {
      for (const k of await listApiKeys(db.knex)) {
        console.log([k.public_id, k.role, k.all_courts ? 'all' : k.court_codes.join(','), `"${k.name}"`, k.key_prefix + '…', k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : 'active', k.checksum_kind === 'sha256' && !k.revoked_at ? '(issued before keyed checksums: replace when convenient)' : ''].filter(Boolean).join('  '));
      }
    }
  } finally {
    await db.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

main(process.argv.slice(2)).catch((e: Error) => {
  fail(`error: ${e.message}`);
});
