import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { upstream, direct, unique } from './upstream.mjs';

const client = new pg.Client(); // PG* environment → the proxy
await client.connect();
const admin = new pg.Client(direct);
await admin.connect();
after(async () => { await client.end(); await admin.end(); });

test('pg: reads pass through, parameterized (extended protocol)', async () => {
  const { rows } = await client.query('select $1::int + 1 as n, current_user as u', [41]);
  assert.deepEqual(rows, [{ n: 42, u: process.env.BACKEND_ROLE }]);
});

test('pg: insert with RETURNING gets the upstream id; database and upstream agree', async () => {
  const email = `${unique('chani')}@arrakis.io`;
  const { rows, rowCount, command } = await client.query(
    'insert into salesforce.contact (first_name, last_name, email) values ($1, $2, $3) returning id', ['Chani', 'Kynes', email]);
  assert.equal(command, 'INSERT');
  assert.equal(rowCount, 1);
  assert.match(rows[0].id, /^003[0-9A-Za-z]{15}$/);
  const db = await admin.query('select email from salesforce.contact where id = $1', [rows[0].id]);
  assert.equal(db.rows[0].email, email);
  assert.equal((await upstream('Contact'))[rows[0].id].Email, email);
});

test('pg: simple-protocol write (no parameters) answers changed_ids', async () => {
  const name = unique('Fremen');
  const result = await client.query(`insert into salesforce.account (name) values ('${name}')`);
  assert.equal(result.rowCount, 1);
  assert.match(result.rows[0].changed_ids, /^001[0-9A-Za-z]{15}$/);
  assert.equal((await upstream('Account'))[result.rows[0].changed_ids].Name, name);
});

test('pg: rejected write is a Postgres error with SQLSTATE, detail, schema/table/column', async () => {
  await assert.rejects(
    client.query('insert into salesforce.contact (last_name, email) values ($1, $2)', ['Dune', 'pauldune.co']),
    (e) => {
      assert.equal(e.code, '23514');
      assert.match(e.message, /^\[Salesforce\] validation error/);
      assert.equal(e.detail, 'Key (email)=(pauldune.co) is not a valid email address.');
      assert.equal(e.schema, 'salesforce');
      assert.equal(e.table, 'contact');
      assert.equal(e.column, 'email');
      return true;
    });
  const db = await admin.query("select count(*)::int as n from salesforce.contact where email = 'pauldune.co'");
  assert.equal(db.rows[0].n, 0);
});

test('pg: transaction with update and delete commits; rollback warns', async () => {
  const name = unique('Sietch');
  await client.query('begin');
  const ins = await client.query('insert into salesforce.account (name) values ($1) returning id', [name]);
  const id = ins.rows[0].id;
  const upd = await client.query('update salesforce.account set name = $1 where id = $2', [`${name}-tabr`, id]);
  assert.equal(upd.rowCount, 1);
  await client.query('commit');
  assert.equal((await upstream('Account'))[id].Name, `${name}-tabr`);

  const notices = [];
  const onNotice = (n) => notices.push(n);
  client.on('notice', onNotice);
  await client.query('begin');
  const del = await client.query('delete from salesforce.account where id = $1', [id]);
  assert.equal(del.rowCount, 1);
  await client.query('rollback');
  await new Promise((r) => setTimeout(r, 50));
  client.off('notice', onNotice);
  assert.ok(notices.some((n) => n.severity === 'WARNING' && n.detail.includes(id)), 'ROLLBACK warning names the change');
  assert.equal((await upstream('Account'))[id], undefined, 'the delete persisted upstream');
});
