import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { upstream, direct, unique } from './upstream.mjs';

// postgres.js: Parse/Describe/Flush then waits (needs Flush handling), prepared statements by default.
const sql = postgres({ max: 1, onnotice: () => {} });
const admin = postgres({ ...direct, username: direct.user, max: 1, onnotice: () => {} });
after(async () => { await sql.end(); await admin.end(); });

test('postgres.js: prepared reads repeat', async () => {
  for (let i = 0; i < 7; i++) {
    const [row] = await sql`select ${i}::int * 2 as n`;
    assert.equal(row.n, i * 2);
  }
});

test('postgres.js: insert returning, update, delete; database and upstream agree', async () => {
  const email = `${unique('stilgar')}@tabr.io`;
  const [row] = await sql`insert into salesforce.contact ${sql({ last_name: 'Stilgar', email })} returning id, last_name`;
  assert.match(row.id, /^003[0-9A-Za-z]{15}$/);
  assert.equal((await upstream('Contact'))[row.id].Email, email);
  const updated = await sql`update salesforce.contact set title = 'Naib' where id = ${row.id}`;
  assert.equal(updated.count, 1);
  assert.equal((await upstream('Contact'))[row.id].Title, 'Naib');
  const [dbRow] = await admin`select title from salesforce.contact where id = ${row.id}`;
  assert.equal(dbRow.title, 'Naib');
  const deleted = await sql`delete from salesforce.contact where id = ${row.id}`;
  assert.equal(deleted.count, 1);
  assert.equal((await upstream('Contact'))[row.id], undefined);
});

test('postgres.js: rejected write', async () => {
  await assert.rejects(sql`insert into salesforce.contact (last_name, email) values ('X', ${'not-an-email'})`, (e) => {
    assert.equal(e.code, '23514');
    assert.equal(e.column_name, 'email');
    assert.equal(e.table_name, 'contact');
    return true;
  });
});

test('postgres.js: transaction', async () => {
  const name = unique('Atreides');
  const id = await sql.begin(async (tx) => {
    const [a] = await tx`insert into salesforce.account (name) values (${name}) returning id`;
    await tx`update salesforce.account set name = ${name + '-2'} where id = ${a.id}`;
    return a.id;
  });
  const [dbRow] = await admin`select name from salesforce.account where id = ${id}`;
  assert.equal(dbRow.name, `${name}-2`);
  assert.equal((await upstream('Account'))[id].Name, `${name}-2`);
});
