import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { NewSyncPage } from './NewSync';
import { RequireSession } from '../session';
import { renderUi } from '../test/render';

const ok = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

describe('new sync wizard', () => {
  it('sends the selection and shows a failed destination test next to the connection string', async () => {
    const posted: unknown[] = [];
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url.endsWith('/me')) return ok({ user: { id: 'u', email: 'a@b.c', name: null }, organizations: [{ id: 'o1', name: 'Acme', slug: 'acme', role: 'owner' }], authenticatedBy: 'cookie' });
      if (url.endsWith('/auth/csrf')) return ok({ token: 't', headerName: 'X-CSRF-TOKEN' });
      if (url.endsWith('/connections/c1')) return ok({ id: 'c1', kind: 'salesforce', name: 'Salesforce (sandbox)', status: 'active', instanceUrl: null, externalAccountId: null, createdAt: '', lastTestedAt: null, lastError: null });
      if (url.endsWith('/connections/c1/objects')) return ok([
        { name: 'Contact', label: 'Contact', table: 'contact', syncable: true, writable: true },
        { name: 'Account', label: 'Account', table: 'account', syncable: true, writable: true },
      ]);
      if (url.endsWith('/syncs') && init?.method === 'POST') {
        expect((init.headers as Record<string, string>)['X-CSRF-TOKEN']).toBe('t');
        posted.push(JSON.parse(init.body as string));
        return ok({ title: 'One or more validation errors occurred.', errors: { 'destination.connectionString': ['Could not connect: connection refused (db.example.com:5432)'] } }, 400);
      }
      return ok({}, 404);
    }));
    const user = userEvent.setup();
    renderUi(
      <MemoryRouter initialEntries={['/new?connection=c1']}>
        <Routes>
          <Route path="/new" element={<RequireSession><NewSyncPage /></RequireSession>} />
        </Routes>
      </MemoryRouter>,
    );
    await user.click(await screen.findByLabelText('Contact'));
    await user.clear(screen.getByRole('textbox', { name: /Schema/ }));
    await user.type(screen.getByRole('textbox', { name: /Schema/ }), 'crm');
    expect(screen.getAllByText('crm.contact').length).toBeGreaterThan(0);
    await user.click(screen.getByRole('button', { name: 'Continue with 1 table' }));
    await user.click(screen.getByLabelText(/Your own Postgres/));
    await user.type(screen.getByRole('textbox', { name: /Connection string/ }), 'postgres://u:p@db.example.com:5432/app');
    await user.click(screen.getByRole('button', { name: 'Review' }));
    await user.click(screen.getByRole('button', { name: 'Create sync' }));

    const error = await screen.findByText(/connection refused/);
    const field = screen.getByRole('textbox', { name: /Connection string/ });
    expect(field.getAttribute('aria-describedby')).toContain(error.id);
    expect(posted[0]).toEqual({
      connectionId: 'c1', schema: 'crm', tables: [{ object: 'Contact', fields: null }],
      destination: { kind: 'external', connectionString: 'postgres://u:p@db.example.com:5432/app' },
    });
  });

  it('tests the own-Postgres connection before creating the sync', async () => {
    const tested: string[] = [];
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url.endsWith('/me')) return ok({ user: { id: 'u', email: 'a@b.c', name: null }, organizations: [{ id: 'o1', name: 'Acme', slug: 'acme', role: 'owner' }], authenticatedBy: 'cookie' });
      if (url.endsWith('/auth/csrf')) return ok({ token: 't', headerName: 'X-CSRF-TOKEN' });
      if (url.endsWith('/connections/c1')) return ok({ id: 'c1', kind: 'salesforce', name: 'Salesforce (sandbox)', status: 'active', instanceUrl: null, externalAccountId: null, createdAt: '', lastTestedAt: null, lastError: null });
      if (url.endsWith('/connections/c1/objects')) return ok([{ name: 'Contact', label: 'Contact', table: 'contact', syncable: true, writable: true }]);
      if (url.endsWith('/destinations/test') && init?.method === 'POST') {
        const body = JSON.parse(init.body as string) as { connectionString: string };
        tested.push(body.connectionString);
        return ok(body.connectionString.includes('good')
          ? { ok: true, error: null }
          : { ok: false, error: '28P01: password authentication failed for user "u"' });
      }
      return ok({}, 404);
    }));
    const user = userEvent.setup();
    renderUi(
      <MemoryRouter initialEntries={['/new?connection=c1']}>
        <Routes>
          <Route path="/new" element={<RequireSession><NewSyncPage /></RequireSession>} />
        </Routes>
      </MemoryRouter>,
    );
    await user.click(await screen.findByLabelText('Contact'));
    await user.click(screen.getByRole('button', { name: 'Continue with 1 table' }));
    await user.click(screen.getByLabelText(/Your own Postgres/));
    await user.type(screen.getByRole('textbox', { name: /Connection string/ }), 'postgres://u:bad@db.example.com/app');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText(/password authentication failed/)).toBeTruthy();

    await user.clear(screen.getByRole('textbox', { name: /Connection string/ }));
    await user.type(screen.getByRole('textbox', { name: /Connection string/ }), 'postgres://u:good@db.example.com/app');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText(/Sequin can reach this database/)).toBeTruthy();
    expect(tested).toEqual(['postgres://u:bad@db.example.com/app', 'postgres://u:good@db.example.com/app']);
  });
});
