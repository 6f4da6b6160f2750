// Conformance: the official jsforce 3.x client against the Sequin Salesforce sandbox.
// Every assertion here is about what jsforce sees, because jsforce is the judge of compatibility.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';
import { startSandbox, admin, CLIENT_SECRET } from './sandbox.mjs';

const VERSION = '62.0';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
let sandbox;
let org;

before(async () => {
  sandbox = await startSandbox();
  // 500 accounts x 5 contacts = 2,500 contacts: more than one 2,000-record query page.
  const created = await admin(sandbox.baseUrl, 'POST', '/orgs', {
    name: 'compat',
    seed: { accounts: 500, contactsPerAccount: 5, opportunitiesPerAccount: 1, leads: 20, randomSeed: 42 },
  });
  org = await admin(sandbox.baseUrl, 'GET', `/orgs/${created.orgId}`);
});

after(async () => {
  await sandbox?.stop();
});

function oauth2() {
  return new jsforce.OAuth2({
    loginUrl: sandbox.baseUrl,
    clientId: 'compat-client',
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    useVerifier: true,
  });
}

/** Drives the consent page with plain HTTP, like a browser: GET the page, submit Allow, read the redirect. */
async function authorize(oauth, action = 'allow') {
  const url = oauth.getAuthorizationUrl({ state: 'xyz-state', login_hint: 'compat', scope: 'api refresh_token' });
  const page = await fetch(url);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /compat/);
  const form = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(name, value.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>'));
  }
  const selected = html.match(/<option value="([^"]+)" selected>/);
  assert.ok(selected, 'login_hint preselects the org');
  form.set('org_id', selected[1]);
  form.set('action', action);
  const decision = await fetch(url, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(decision.status, 302);
  return new URL(decision.headers.get('location'));
}

async function connect() {
  const oauth = oauth2();
  const redirect = await authorize(oauth);
  const conn = new jsforce.Connection({ oauth2: oauth, version: VERSION });
  await conn.authorize(redirect.searchParams.get('code'));
  return conn;
}

test('OAuth code flow with PKCE gives a working connection', async () => {
  const oauth = oauth2();
  const redirect = await authorize(oauth);
  assert.equal(redirect.searchParams.get('state'), 'xyz-state');
  const code = redirect.searchParams.get('code');
  assert.ok(code);
  const token = await oauth.requestToken(code);
  assert.ok(token.access_token.startsWith(org.orgId.slice(0, 15) + '!'));
  assert.ok(token.refresh_token);
  assert.equal(token.instance_url, sandbox.baseUrl);
  assert.equal(token.token_type, 'Bearer');
  assert.match(token.issued_at, /^\d{13}$/);
  assert.ok(token.signature);
  assert.equal(token.id, `${sandbox.baseUrl}/id/${org.orgId}/${org.userId}`);
  // Codes are single use.
  await assert.rejects(oauth.requestToken(code), (err) => err.name === 'invalid_grant');
});

test('identity URL from the token response answers conn.identity()', async () => {
  const conn = await connect();
  const identity = await conn.identity();
  assert.equal(identity.organization_id, org.orgId);
  assert.equal(identity.user_id, org.userId);
  assert.equal(conn.userInfo.organizationId, org.orgId);
});

test('consent Deny redirects with access_denied', async () => {
  const redirect = await authorize(oauth2(), 'deny');
  assert.equal(redirect.searchParams.get('error'), 'access_denied');
  assert.equal(redirect.searchParams.get('error_description'), 'end-user denied authorization');
  assert.equal(redirect.searchParams.get('state'), 'xyz-state');
});

test('refresh token grant issues a new access token', async () => {
  const conn = await connect();
  const refreshed = await conn.oauth2.refreshToken(conn.refreshToken);
  assert.ok(refreshed.access_token);
  assert.notEqual(refreshed.access_token, conn.accessToken);
  assert.equal(refreshed.instance_url, sandbox.baseUrl);
});

test('describeGlobal lists the standard objects', async () => {
  const conn = await connect();
  const global = await conn.describeGlobal();
  const names = global.sobjects.map((s) => s.name);
  for (const name of ['Account', 'Contact', 'Opportunity', 'Lead', 'User']) {
    assert.ok(names.includes(name), name);
  }
  assert.equal(global.sobjects.find((s) => s.name === 'Contact').keyPrefix, '003');
});

test('describe returns realistic field metadata', async () => {
  const conn = await connect();
  const describe = await conn.sobject('Contact').describe();
  const field = (name) => describe.fields.find((f) => f.name === name);
  assert.equal(field('LastName').type, 'string');
  assert.equal(field('LastName').length, 80);
  assert.equal(field('LastName').nillable, false);
  assert.equal(field('Email').type, 'email');
  assert.deepEqual(field('AccountId').referenceTo, ['Account']);
  assert.equal(field('AccountId').relationshipName, 'Account');
  assert.equal(field('MailingAddress').type, 'address');
  assert.equal(field('MailingCity').compoundFieldName, 'MailingAddress');
  assert.ok(field('LeadSource').picklistValues.some((p) => p.value === 'Web'));
  assert.equal(field('SystemModstamp').type, 'datetime');
  assert.equal(field('CreatedDate').createable, false);
});

test('query with autoFetch follows nextRecordsUrl across pages', async () => {
  const conn = await connect();
  const records = [];
  await new Promise((resolve, reject) => {
    conn.query('SELECT Id, LastName, SystemModstamp FROM Contact ORDER BY SystemModstamp')
      .on('record', (r) => records.push(r))
      .on('end', resolve)
      .on('error', reject)
      .run({ autoFetch: true, maxFetch: 100000 });
  });
  const count = await conn.query('SELECT COUNT() FROM Contact');
  assert.ok(records.length > 2000);
  assert.equal(records.length, count.totalSize);
  assert.equal(new Set(records.map((r) => r.Id)).size, records.length);
  for (let i = 1; i < records.length; i++) {
    assert.ok(records[i - 1].SystemModstamp <= records[i].SystemModstamp);
  }
});

test('parent relationship fields come back as nested records', async () => {
  const conn = await connect();
  const result = await conn.query('SELECT Id, LastName, Account.Name, Owner.Email FROM Contact WHERE Account.Name != null ORDER BY Account.Name LIMIT 5');
  assert.equal(result.records.length, 5);
  for (const r of result.records) {
    assert.equal(r.Account.attributes.type, 'Account');
    assert.ok(r.Account.Name);
    assert.match(r.Owner.Email, /@/);
  }
});

test('queryAll sees deleted rows', async () => {
  const conn = await connect();
  const created = await conn.sobject('Lead').create({ LastName: 'Gone', Company: 'Deleted Corp' });
  await conn.sobject('Lead').destroy(created.id);
  const live = await conn.query(`SELECT Id FROM Lead WHERE Id = '${created.id}'`);
  assert.equal(live.totalSize, 0);
  // jsforce 3 spells queryAll as a scanAll query.
  const all = await conn.query(`SELECT Id, IsDeleted FROM Lead WHERE Id = '${created.id}'`).scanAll(true);
  assert.equal(all.totalSize, 1);
  assert.equal(all.records[0].IsDeleted, true);
});

test('create, retrieve, update and destroy a single record', async () => {
  const conn = await connect();
  const contact = conn.sobject('Contact');
  const created = await contact.create({ FirstName: 'Paul', LastName: 'Atreides', Email: 'paul@dune.co' });
  assert.equal(created.success, true);
  assert.match(created.id, /^003[0-9A-Za-z]{15}$/);
  const record = await contact.retrieve(created.id);
  assert.equal(record.Name, 'Paul Atreides');
  assert.equal(record.attributes.type, 'Contact');
  const updated = await contact.update({ Id: created.id, Title: 'Duke' });
  assert.equal(updated.success, true);
  const again = await contact.retrieve(created.id);
  assert.equal(again.Title, 'Duke');
  assert.ok(again.SystemModstamp > record.SystemModstamp);
  const destroyed = await contact.destroy(created.id);
  assert.equal(destroyed.success, true);
  await assert.rejects(contact.retrieve(created.id), (err) => err.errorCode === 'NOT_FOUND' || err.name === 'NOT_FOUND');
});

test('create, retrieve, update and destroy many records through collections', async () => {
  const conn = await connect();
  const contact = conn.sobject('Contact');
  const inputs = Array.from({ length: 50 }, (_, i) => ({ LastName: `Batch ${i}`, Email: `batch${i}@example.com` }));
  const created = await contact.create(inputs, { allOrNone: true });
  assert.equal(created.length, 50);
  assert.ok(created.every((r) => r.success));
  const ids = created.map((r) => r.id);
  const retrieved = await contact.retrieve(ids);
  assert.deepEqual(retrieved.map((r) => r.Id), ids);
  const updated = await contact.update(ids.map((Id) => ({ Id, Title: 'Batch updated' })), { allOrNone: true });
  assert.ok(updated.every((r) => r.success));
  const check = await conn.query(`SELECT Id FROM Contact WHERE Title = 'Batch updated'`);
  assert.equal(check.totalSize, 50);
  const destroyed = await contact.destroy(ids, { allOrNone: true });
  assert.ok(destroyed.every((r) => r.success));
  const after = await conn.query(`SELECT COUNT() FROM Contact WHERE Title = 'Batch updated'`);
  assert.equal(after.totalSize, 0);
});

test('allOrNone rolls back the whole batch and names the culprit', async () => {
  const conn = await connect();
  const before = (await conn.query('SELECT COUNT() FROM Contact')).totalSize;
  const results = await conn.sobject('Contact').create(
    [{ LastName: 'Fine', Email: 'fine@example.com' }, { LastName: 'Bad', Email: 'pauldune.co' }],
    { allOrNone: true });
  assert.equal(results[0].success, false);
  assert.equal(results[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
  assert.equal(results[1].errors[0].statusCode, 'INVALID_EMAIL_ADDRESS');
  assert.equal(results[1].errors[0].message, 'Email: invalid email address: pauldune.co');
  assert.deepEqual(results[1].errors[0].fields, ['Email']);
  assert.equal((await conn.query('SELECT COUNT() FROM Contact')).totalSize, before);
});

test('composite chains a collections create and a retrieve of the new ids in one API call', async () => {
  const conn = await connect();
  const base = `/services/data/v${VERSION}`;
  const name = `Composite ${Date.now()}`;
  await conn.limits();
  const usedBefore = conn.limitInfo.apiUsage.used;
  const result = await conn.requestPost(`${base}/composite`, {
    allOrNone: false,
    compositeRequest: [
      { method: 'POST', url: `${base}/composite/sobjects`, referenceId: 'write',
        body: { allOrNone: true, records: [
          { attributes: { type: 'Account' }, Name: `${name} A` },
          { attributes: { type: 'Account' }, Name: `${name} B` }] } },
      { method: 'POST', url: `${base}/composite/sobjects/Account`, referenceId: 'read',
        body: { ids: ['@{write[0].id}', '@{write[1].id}'], fields: ['Id', 'Name', 'CreatedDate', 'SystemModstamp'] } },
    ],
  });
  assert.equal(conn.limitInfo.apiUsage.used, usedBefore + 1);
  const [write, read] = result.compositeResponse;
  assert.equal(write.httpStatusCode, 200);
  assert.equal(read.httpStatusCode, 200);
  assert.equal(read.referenceId, 'read');
  const ids = write.body.map((r) => r.id);
  assert.deepEqual(read.body.map((r) => r.Id), ids);
  assert.deepEqual(read.body.map((r) => r.Name), [`${name} A`, `${name} B`]);
  assert.ok(read.body.every((r) => r.CreatedDate && r.SystemModstamp));
  // The sandbox's real state, read back through the ordinary API.
  const stored = await conn.query(`SELECT Id FROM Account WHERE Name LIKE '${name}%'`);
  assert.deepEqual(stored.records.map((r) => r.Id).sort(), [...ids].sort());
});

test('composite with allOrNone rolls every subrequest back and names the culprit', async () => {
  const conn = await connect();
  const base = `/services/data/v${VERSION}`;
  const name = `Halted ${Date.now()}`;
  const result = await conn.requestPost(`${base}/composite`, {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'acct', body: { Name: name } },
      { method: 'POST', url: `${base}/sobjects/Contact`, referenceId: 'bad',
        body: { LastName: name, Email: 'pauldune.co', AccountId: '@{acct.id}' } },
    ],
  });
  const [acct, bad] = result.compositeResponse;
  assert.equal(acct.httpStatusCode, 400);
  assert.equal(acct.body[0].errorCode, 'PROCESSING_HALTED');
  assert.equal(bad.httpStatusCode, 400);
  assert.equal(bad.body[0].errorCode, 'INVALID_EMAIL_ADDRESS');
  assert.equal((await conn.query(`SELECT COUNT() FROM Account WHERE Name = '${name}'`)).totalSize, 0);
  assert.equal((await conn.query(`SELECT COUNT() FROM Contact WHERE LastName = '${name}'`)).totalSize, 0);
  await assert.rejects(conn.requestPost(`${base}/composite`, { compositeRequest: [{ method: 'GET', url: `${base}/limits` }] }),
    (err) => err.name === 'JSON_PARSER_ERROR' && /referenceId/.test(err.message));
});

test('errors surface with Salesforce error names', async () => {
  const conn = await connect();
  await assert.rejects(conn.sobject('Contact').create({ LastName: 'X', Email: 'pauldune.co' }),
    (err) => err.name === 'INVALID_EMAIL_ADDRESS' && err.message === 'Email: invalid email address: pauldune.co');
  await assert.rejects(conn.sobject('Contact').create({ FirstName: 'NoLast' }),
    (err) => err.name === 'REQUIRED_FIELD_MISSING' && /LastName/.test(err.message));
  await assert.rejects(conn.query('SELECT Id FRM Contact'),
    (err) => err.name === 'MALFORMED_QUERY' && /ERROR at Row:1:Column:11/.test(err.message));
  await assert.rejects(conn.query('SELECT Nope FROM Contact'), (err) => err.name === 'INVALID_FIELD');
  // SOQL injection in a value stays data: the escaped quote is part of the string.
  const injected = await conn.query("SELECT Id FROM Contact WHERE LastName = 'x\\' OR LastName != \\'x'");
  assert.equal(injected.totalSize, 0);
});

test('expired session triggers a transparent refresh', async () => {
  const conn = await connect();
  let refreshed = 0;
  conn.on('refresh', () => { refreshed += 1; });
  // Revoke only the access token: jsforce gets 401 INVALID_SESSION_ID and refreshes.
  await conn.oauth2.revokeToken(conn.accessToken);
  const result = await conn.query('SELECT Id FROM Account LIMIT 1');
  assert.equal(result.totalSize, 1);
  assert.equal(refreshed, 1);
});

test('access token past its lifetime is refreshed transparently', async () => {
  await admin(sandbox.baseUrl, 'PUT', `/orgs/${org.orgId}/faults`, { accessTokenLifetimeSeconds: 1 });
  try {
    const conn = await connect();
    let refreshed = 0;
    conn.on('refresh', () => { refreshed += 1; });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const result = await conn.query('SELECT Id FROM Account LIMIT 1');
    assert.equal(result.totalSize, 1);
    assert.equal(refreshed, 1);
  } finally {
    await admin(sandbox.baseUrl, 'PUT', `/orgs/${org.orgId}/faults`, { accessTokenLifetimeSeconds: 7200 });
  }
});

test('INVALID_SESSION_ID without a refresh token is an error named after the code', async () => {
  const tokens = await admin(sandbox.baseUrl, 'POST', `/orgs/${org.orgId}/tokens`);
  const conn = new jsforce.Connection({ instanceUrl: tokens.instance_url, accessToken: tokens.access_token, version: VERSION });
  await conn.query('SELECT Id FROM Account LIMIT 1');
  await admin(sandbox.baseUrl, 'POST', `/orgs/${org.orgId}/tokens/revoke`);
  await assert.rejects(conn.query('SELECT Id FROM Account LIMIT 1'), (err) => err.name === 'INVALID_SESSION_ID');
});

test('limits report the daily API allocation and usage', async () => {
  const conn = await connect();
  const limits = await conn.limits();
  assert.equal(limits.DailyApiRequests.Max, 100000);
  assert.ok(limits.DailyApiRequests.Remaining < 100000);
  assert.ok(conn.limitInfo.apiUsage.used > 0);
  assert.equal(conn.limitInfo.apiUsage.limit, 100000);
});

test('REQUEST_LIMIT_EXCEEDED once the daily allocation is used up', async () => {
  const other = await admin(sandbox.baseUrl, 'POST', '/orgs', { name: 'limited', dailyApiLimit: 3 });
  const tokens = await admin(sandbox.baseUrl, 'POST', `/orgs/${other.orgId}/tokens`);
  const conn = new jsforce.Connection({ instanceUrl: tokens.instance_url, accessToken: tokens.access_token, version: VERSION });
  for (let i = 0; i < 3; i++) {
    await conn.query('SELECT Id FROM User LIMIT 1');
  }
  await assert.rejects(conn.query('SELECT Id FROM User LIMIT 1'),
    (err) => err.name === 'REQUEST_LIMIT_EXCEEDED' && err.message === 'TotalRequests Limit exceeded.');
});

test('getUpdated and getDeleted report changes in a window', async () => {
  const conn = await connect();
  const start = new Date(Date.now() - 60 * 60 * 1000);
  const created = await conn.sobject('Account').create({ Name: 'Replicated Inc.' });
  await conn.sobject('Account').destroy(created.id);
  const end = new Date(Date.now() + 2 * 60 * 1000);
  const deleted = await conn.sobject('Account').deleted(start, end);
  assert.ok(Array.isArray(deleted.deletedRecords));
  assert.ok(deleted.earliestDateAvailable);
  const updated = await conn.sobject('Account').updated(start, end);
  assert.ok(Array.isArray(updated.ids));
  assert.ok(updated.latestDateCovered);
});
