import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import SyncDetailPage from './SyncDetail';
import { RequireSession } from '../session';
import { renderUi } from '../test/render';

const ok = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

const sync = {
  id: 's1', name: null, schema: 'salesforce', state: 'backfilling', connectionId: 'c1',
  destination: { id: 'd1', kind: 'hosted', host: '127.0.0.1', port: 5432, database: 'db' },
  pollIntervalMs: 1000, createdAt: new Date().toISOString(), lastError: null,
  tables: [
    { object: 'Account', table: 'account', state: 'live', rowsDone: 20, rowsEstimated: 20, lastSyncedAt: new Date().toISOString(), lagSeconds: 1.2, lastError: null, fields: null },
    { object: 'Contact', table: 'contact', state: 'backfilling', rowsDone: 30, rowsEstimated: null, lastSyncedAt: null, lagSeconds: null, lastError: null, fields: null },
    { object: 'Opportunity', table: 'opportunity', state: 'error', rowsDone: 5, rowsEstimated: 50, lastSyncedAt: null, lagSeconds: null,
      lastError: 'Salesforce: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.', fields: ['Id', 'Name'] },
  ],
};

describe('sync detail', () => {
  it('shows per-table state, progress (indeterminate without an estimate), lag and upstream errors', async () => {
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.endsWith('/me')) return ok({ user: { id: 'u', email: 'a@b.c', name: null }, organizations: [{ id: 'o1', name: 'Acme', slug: 'acme', role: 'owner' }], authenticatedBy: 'cookie' });
      if (url.endsWith('/syncs/s1')) return ok(sync);
      if (url.includes('/connection-instructions')) {
        return ok({ proxy: { host: 'h', port: 7432, database: 'db', user: 'u', password: null, url: 'postgres://u@h:7432/db', psql: 'psql "postgres://u@h:7432/db"', note: '' }, direct: null });
      }
      return ok({}, 404);
    }));
    renderUi(
      <MemoryRouter initialEntries={['/syncs/s1']}>
        <Routes>
          <Route path="/syncs/:syncId" element={<RequireSession><SyncDetailPage /></RequireSession>} />
        </Routes>
      </MemoryRouter>,
    );
    const account = await screen.findByTestId('table-row-Account');
    expect(within(account).getByText('live')).toBeInTheDocument();
    expect(within(account).getByText('20 / 20 rows')).toBeInTheDocument();
    expect(within(account).getByText('1 s')).toBeInTheDocument();

    const contact = screen.getByTestId('table-row-Contact');
    expect(within(contact).getByText('30 rows')).toBeInTheDocument();
    expect(within(contact).getByLabelText('Backfill progress of Contact')).toHaveAttribute('aria-valuetext', 'unknown total');

    const opp = screen.getByTestId('table-row-Opportunity');
    expect(within(opp).getByLabelText('Backfill progress of Opportunity')).toHaveAttribute('aria-valuetext', '10%');
    expect(screen.getByText(/REQUEST_LIMIT_EXCEEDED/)).toBeInTheDocument();
    expect(screen.getByTestId('sync-state')).toHaveTextContent('backfilling');
    expect(await screen.findByTestId('proxy-url')).toHaveTextContent('postgres://u@h:7432/db');
    expect(screen.getByText('salesforce.contact')).toBeInTheDocument();
  });
});
