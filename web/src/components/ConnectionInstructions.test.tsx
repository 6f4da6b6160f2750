import { describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ConnectionInstructions } from './ConnectionInstructions';
import type { ConnectionInstructions as Instructions } from '../api/types';
import { renderUi } from '../test/render';

function instructions(reveal: boolean): Instructions {
  const password = reveal ? 's3cret-pw' : null;
  return {
    proxy: {
      host: '127.0.0.1', port: 7432, database: 'acme', user: 'sync_ab12', password,
      url: `postgres://sync_ab12:${reveal ? 's3cret-pw' : '********'}@127.0.0.1:7432/acme`,
      psql: `psql "postgres://sync_ab12:${reveal ? 's3cret-pw' : '********'}@127.0.0.1:7432/acme"`,
      note: 'Writes go to Salesforce first.',
    },
    direct: null,
  };
}

describe('ConnectionInstructions', () => {
  it('shows every value with a copy button and hides the password until revealed', async () => {
    const user = userEvent.setup();
    const load = vi.fn(async (r: boolean) => instructions(r));
    renderUi(<ConnectionInstructions orgId="o" syncId="s" load={load} />);
    expect(await screen.findByTestId('proxy-host')).toHaveTextContent('127.0.0.1');
    expect(screen.getByTestId('proxy-port')).toHaveTextContent('7432');
    expect(screen.getByTestId('proxy-user')).toHaveTextContent('sync_ab12');
    expect(screen.getByTestId('proxy-password')).not.toHaveTextContent('s3cret-pw');
    for (const label of ['host', 'port', 'database', 'user', 'password', 'url', 'psql']) {
      expect(screen.getByRole('button', { name: `Copy ${label}` })).toBeInTheDocument();
    }
    expect(load).toHaveBeenLastCalledWith(false);

    await user.click(screen.getByRole('button', { name: 'Reveal password' }));
    expect(await screen.findByText('s3cret-pw')).toBeInTheDocument();
    expect(load).toHaveBeenLastCalledWith(true);
    expect(screen.getByTestId('proxy-url')).toHaveTextContent('postgres://sync_ab12:s3cret-pw@127.0.0.1:7432/acme');
    expect(screen.getByRole('button', { name: 'Hide password' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('offers the direct endpoint in a second tab when there is one', async () => {
    const load = async (r: boolean) => ({ ...instructions(r), direct: { ...instructions(r).proxy, port: 5432, note: 'Read only.' } });
    renderUi(<ConnectionInstructions orgId="o" syncId="s" load={load} />);
    expect(await screen.findByRole('tab', { name: 'Direct (read only)' })).toBeInTheDocument();
  });

  it('shows the API error when loading fails', async () => {
    const { ApiError } = await import('../api/errors');
    renderUi(<ConnectionInstructions orgId="o" syncId="s" load={async () => { throw new ApiError(404, { title: 'Not found', detail: 'Sync was not found.' }); }} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Sync was not found.');
  });
});
