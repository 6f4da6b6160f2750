// The product in two minutes, in a real browser: sign up → connect Salesforce (sandbox) through the consent page →
// pick Contact and Account → watch them go live → reveal and read the connection URL → SQL through the proxy
// (read, insert, rejected insert). Steps share one browser page and run in order; screenshots go to ./screenshots.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import pg from 'pg';

const base = process.env.E2E_BASE_URL;
const adminKey = process.env.E2E_ADMIN_KEY;
const sandboxOrgId = process.env.E2E_SANDBOX_ORG_ID;
const sandboxOrgName = process.env.E2E_SANDBOX_ORG_NAME ?? 'acme';
const executablePath = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
assert.ok(base && adminKey && sandboxOrgId, 'run through run.sh (E2E_BASE_URL, E2E_ADMIN_KEY, E2E_SANDBOX_ORG_ID)');

const shots = join(import.meta.dirname, 'screenshots');
mkdirSync(shots, { recursive: true });
let shotNo = 0;
const state = {};
let browser;
let context;
let page;

async function shot(name, p = page) {
  shotNo += 1;
  // Full-page shots from the top, so the fixed header sits where it belongs.
  await p.evaluate(() => window.scrollTo(0, 0)).catch(() => {});
  await p.waitForTimeout(300);
  await p.screenshot({ path: join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Steps depend on each other: once one fails, the next ones report that instead of timing out one by one. */
function step(name, fn, timeout = 60_000) {
  test(name, { timeout }, async () => {
    if (state.failed) assert.fail(`not run: an earlier step failed (${state.failed})`);
    try {
      await fn();
    } catch (e) {
      state.failed = name;
      try { await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`); } catch { /* browser gone */ }
      throw e;
    }
  });
}

/** Like step(), but runs even after an earlier write step failed, as long as the proxy URL was obtained. */
function writeStep(name, fn, timeout = 60_000) {
  test(name, { timeout }, async () => {
    if (!state.url) assert.fail(`not run: no connection URL (${state.failed})`);
    try {
      await fn();
    } catch (e) {
      try { await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`); } catch { /* browser gone */ }
      throw e;
    }
  });
}

async function sandboxToken() {
  const res = await fetch(`${base}/sandbox/salesforce/_sandbox/orgs/${sandboxOrgId}/tokens`, {
    method: 'POST', headers: { 'X-Sandbox-Admin-Key': adminKey },
  });
  assert.equal(res.status, 200, `sandbox tokens: ${res.status} ${await res.clone().text()}`);
  const t = await res.json();
  return { token: t.access_token ?? t.accessToken, instanceUrl: (t.instance_url ?? t.instanceUrl).replace(/\/$/, '') };
}

async function soql(q) {
  const { token, instanceUrl } = await sandboxToken();
  const res = await fetch(`${instanceUrl}/services/data/v62.0/query?q=${encodeURIComponent(q)}`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  const text = await res.text();
  assert.equal(res.status, 200, `SOQL ${q}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function withProxy(fn) {
  const client = new pg.Client({ connectionString: state.url, connectionTimeoutMillis: 15_000, query_timeout: 30_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

describe('dashboard end to end', () => {
  before(async () => {
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: base });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base }).catch(() => {});
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
  });

  const email = `ada+${randomBytes(4).toString('hex')}@example.com`;

  step('sign up', async () => {
    await page.goto('/');
    await page.waitForURL(/\/signin/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('sign-in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/signup/);
    // The API's validation errors show next to their fields.
    await page.getByLabel('Work email').fill('not-an-email');
    await page.getByLabel('Organization name').fill('Acme Analytics');
    await page.getByRole('textbox', { name: 'Password' }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText(/'Password' must be at least 10 characters/).waitFor();
    await page.getByText(/not a valid email address/).waitFor();
    await shot('sign-up-errors');

    await page.getByLabel('Work email').fill(email);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByRole('textbox', { name: 'Password' }).fill('correct horse battery staple');
    await shot('sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/new$/);
    await page.getByRole('heading', { name: 'Set up a sync' }).waitFor();
  });

  step('sources: Salesforce available, HubSpot/Airtable/Stripe coming soon', async () => {
    for (const name of ['HubSpot', 'Airtable', 'Stripe']) {
      assert.ok(await page.getByRole('button', { name: `Connect ${name}` }).isDisabled(), `${name} is disabled`);
    }
    assert.equal(await page.getByText('Coming soon').count(), 3);
    await shot('onboarding-sources');
  });

  step('connect Salesforce through the sandbox consent page', async () => {
    await page.getByRole('button', { name: 'Connect Salesforce' }).click();
    await page.waitForURL(/\/services\/oauth2\/authorize/);
    const select = page.locator('select[name="org_id"]');
    await select.selectOption(sandboxOrgId);
    const chosen = await select.evaluate((s) => s.options[s.selectedIndex].textContent);
    assert.match(chosen, new RegExp(sandboxOrgName));
    await shot('salesforce-consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/new\?connection=/);
    state.connectionId = new URL(page.url()).searchParams.get('connection');
    assert.ok(state.connectionId);
  });

  step('pick Contact and Account (search, columns, Postgres names)', async () => {
    await page.getByRole('list', { name: 'Tables' }).waitFor();
    await page.getByLabel('Search tables').fill('contact');
    await page.getByRole('checkbox', { name: 'Contact', exact: true }).check();
    assert.equal(await page.getByText('salesforce.contact', { exact: true }).first().isVisible(), true);
    // Column picker: every column with the Postgres name it gets.
    await page.getByRole('button', { name: /Columns: all/ }).click();
    const columns = page.getByRole('list', { name: 'Columns of Contact' });
    await columns.waitFor();
    assert.ok(await columns.getByText(/^email/).count() > 0, 'Contact.Email shows as column email');
    await shot('pick-tables-columns');
    await page.getByLabel('Search tables').fill('account');
    await page.getByRole('checkbox', { name: 'Account', exact: true }).check();
    await page.getByLabel('Search tables').fill('');
    assert.match(await page.getByText(/tables selected/).textContent(), /^2 of \d+ tables selected/);
    await shot('pick-tables');
    await page.getByRole('button', { name: 'Continue with 2 tables' }).click();
  });

  step('choose the hosted destination and create the sync', async () => {
    await page.getByRole('radio', { name: /Hosted database/ }).check();
    await shot('destination');
    await page.getByRole('button', { name: 'Review', exact: true }).click();
    await page.getByRole('button', { name: 'Create sync' }).waitFor();
    await shot('review');
    await page.getByRole('button', { name: 'Create sync' }).click();
    await page.waitForURL(/\/syncs\/[0-9a-f-]+/);
    state.syncId = new URL(page.url()).pathname.split('/').pop();
    await page.getByTestId('table-row-Contact').waitFor();
    await shot('sync-created');
  });

  step('progress reaches live', async () => {
    for (const object of ['Account', 'Contact']) {
      await page.getByTestId(`table-state-${object}`).filter({ hasText: /^live$/ }).waitFor({ timeout: 150_000 });
    }
    await page.getByTestId('table-rows-Contact').filter({ hasText: /^60\b/ }).waitFor({ timeout: 30_000 });
    state.contactRows = await page.getByTestId('table-rows-Contact').textContent();
    await page.getByText('Collecting samples…').waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
    await shot('sync-live');
  }, 200_000);

  step('connection instructions: reveal and copy the URL', async () => {
    const card = page.locator('#connection-instructions');
    await card.scrollIntoViewIfNeeded();
    await card.getByTestId('proxy-url').waitFor();
    assert.doesNotMatch(await card.getByTestId('proxy-password').textContent(), /[A-Za-z0-9]{8}/, 'password hidden before reveal');
    await card.getByRole('button', { name: 'Reveal password' }).click();
    await card.getByRole('button', { name: 'Hide password' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid="proxy-password"]')?.textContent?.includes('•'));
    await card.getByRole('button', { name: 'Copy url' }).click();
    state.url = (await card.getByTestId('proxy-url').textContent()).trim();
    const copied = await page.evaluate(() => navigator.clipboard.readText().catch(() => null));
    if (copied !== null) assert.equal(copied, state.url, 'the copy button copies the URL');
    assert.match(state.url, /^postgres(ql)?:\/\//);
    assert.match(await card.getByTestId('proxy-psql').textContent(), /^psql /);
    await shot('connection-instructions');
  });

  step('read synced rows through the proxy with the copied URL', async () => {
    await withProxy(async (client) => {
      const count = await client.query('select count(*)::int as n from salesforce.contact');
      assert.equal(count.rows[0].n, 60);
      const rows = await client.query('select id, first_name, last_name, email, account_id from salesforce.contact order by id limit 5');
      assert.equal(rows.rows.length, 5);
      assert.ok(rows.rows.every((r) => r.id && r.last_name));
      const accounts = await client.query('select count(*)::int as n from salesforce.account');
      assert.equal(accounts.rows[0].n, 20);
      state.accountId = (await client.query('select id from salesforce.account order by id limit 1')).rows[0].id;
    });
  });

  const marker = randomBytes(3).toString('hex');
  const newEmail = `grace.${marker}@example.com`;

  writeStep('insert a contact through the proxy: in the dashboard and in Salesforce', async () => {
    await withProxy(async (client) => {
      const inserted = await client.query(
        'insert into salesforce.contact (first_name, last_name, email, account_id) values ($1, $2, $3, $4) returning id',
        ['Grace', `Hopper-${marker}`, newEmail, state.accountId],
      );
      assert.equal(inserted.rowCount, 1);
      state.newId = inserted.rows[0].id;
      assert.match(state.newId ?? '', /^003/, 'the returned id is the Salesforce id');
      const back = await client.query('select email from salesforce.contact where id = $1', [state.newId]);
      assert.equal(back.rows[0]?.email, newEmail);
    });
    // In Salesforce (the sandbox's REST API).
    const sf = await soql(`SELECT Id, Email FROM Contact WHERE Email = '${newEmail}'`);
    assert.equal(sf.totalSize, 1, 'the contact exists in Salesforce');
    // In the dashboard: the row count of salesforce.contact goes up.
    const rows = page.getByTestId('table-rows-Contact');
    const deadline = Date.now() + 45_000;
    let shown = await rows.textContent();
    while (!/^61\b/.test(shown) && Date.now() < deadline) {
      await page.waitForTimeout(1000);
      shown = await rows.textContent();
    }
    assert.match(shown, /^61\b/, `the dashboard's row count for Contact after the insert (was "${state.contactRows}")`);
    await page.getByTestId('table-row-Contact').scrollIntoViewIfNeeded();
    await shot('after-insert');
  }, 90_000);

  writeStep('an invalid email insert comes back as a Postgres error naming Salesforce', async () => {
    await withProxy(async (client) => {
      let error;
      try {
        await client.query('insert into salesforce.contact (last_name, email) values ($1, $2)', [`Bad-${marker}`, 'not-an-email']);
      } catch (e) {
        error = e;
      }
      assert.ok(error, 'the insert is rejected');
      console.log(`# rejected insert: SQLSTATE ${error.code}: ${error.message}`);
      assert.match(error.code ?? '', /^(23514|23\d{3}|P0001|22023)$/, `SQLSTATE ${error.code}`);
      assert.match(`${error.message} ${error.detail ?? ''}`, /salesforce/i);
      assert.match(`${error.message} ${error.detail ?? ''}`, /email/i);
      const none = await client.query('select count(*)::int as n from salesforce.contact where last_name = $1', [`Bad-${marker}`]);
      assert.equal(none.rows[0].n, 0, 'nothing committed');
    });
    const sf = await soql(`SELECT Id FROM Contact WHERE LastName = 'Bad-${marker}'`);
    assert.equal(sf.totalSize, 0, 'nothing created in Salesforce');
  });

  test('settings pages: API key shown once, members, audit log; phone width', { timeout: 60_000 }, async () => {
    if (!state.syncId) assert.fail(`not run: no sync (${state.failed})`);
    await page.goto('/settings/api-keys');
    await page.getByLabel('Key name').fill('CI');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('created-api-key').textContent()).trim();
    assert.ok(key.length > 20);
    const me = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200, 'the new key authenticates');
    await shot('api-keys');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Revoke CI' }).click();
    await page.getByText('revoked', { exact: true }).waitFor();
    await page.goto('/settings/members');
    await page.getByText(email).waitFor();
    await shot('members');
    await page.goto('/settings/audit-log');
    await page.getByRole('table').waitFor();
    await shot('audit-log');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/new');
    await page.getByRole('button', { name: 'Connect Salesforce' }).waitFor();
    await shot('phone-new-sync');
    await page.goto(`/syncs/${state.syncId}`);
    await page.getByTestId('table-row-Contact').waitFor();
    await shot('phone-sync-detail');
    await page.setViewportSize({ width: 1280, height: 860 });
  });
});
