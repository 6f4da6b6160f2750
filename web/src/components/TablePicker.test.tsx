import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TablePicker, type Selection } from './TablePicker';
import type { SourceObject, SourceObjectDetail } from '../api/types';
import { renderUi } from '../test/render';

const objects: SourceObject[] = [
  { name: 'Account', label: 'Account', table: 'account', syncable: true, writable: true },
  { name: 'Contact', label: 'Contact', table: 'contact', syncable: true, writable: true },
  { name: 'OpportunityLineItem', label: 'Opportunity Product', table: 'opportunity_line_item', syncable: true, writable: true },
  { name: 'LoginHistory', label: 'Login History', table: 'login_history', syncable: false, writable: false },
];
const contact: SourceObjectDetail = {
  name: 'Contact', table: 'contact', idField: 'Id', versionField: 'SystemModstamp',
  fields: [
    { name: 'Id', type: 'id', pgType: 'text', column: 'id', isReference: false, createable: false, updateable: false },
    { name: 'FirstName', type: 'string', pgType: 'text', column: 'first_name', isReference: false, createable: true, updateable: true },
    { name: 'Email', type: 'email', pgType: 'text', column: 'email', isReference: false, createable: true, updateable: true },
    { name: 'SystemModstamp', type: 'datetime', pgType: 'timestamptz', column: 'system_modstamp', isReference: false, createable: false, updateable: false },
  ],
};

function Harness({ onChange, load }: { onChange: (s: Selection) => void; load?: (n: string) => Promise<SourceObjectDetail> }) {
  const [value, setValue] = useState<Selection>({});
  return (
    <TablePicker
      objects={objects}
      schema="crm"
      value={value}
      onChange={(s) => { setValue(s); onChange(s); }}
      loadObject={load ?? (async () => contact)}
      cacheKey="c1"
    />
  );
}

describe('TablePicker', () => {
  it('shows the Postgres name each object gets in the chosen schema', () => {
    renderUi(<Harness onChange={() => {}} />);
    expect(screen.getAllByText('crm.opportunity_line_item').length).toBeGreaterThan(0);
    expect(screen.getAllByText('crm.contact').length).toBeGreaterThan(0);
  });

  it('filters with search and select-all picks only the matching syncable objects', async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    renderUi(<Harness onChange={onChange} />);
    await user.type(screen.getByLabelText('Search tables'), 'o');
    // Account, Contact, Opportunity Product, Login History all contain "o"; narrow further:
    await user.clear(screen.getByLabelText('Search tables'));
    await user.type(screen.getByLabelText('Search tables'), 'con');
    expect(screen.queryByLabelText('Account')).not.toBeInTheDocument();
    await user.click(screen.getByLabelText('Select all matching (1)'));
    expect(onChange).toHaveBeenLastCalledWith({ Contact: null });
    await user.clear(screen.getByLabelText('Search tables'));
    await user.click(screen.getByLabelText('Select all (3)'));
    expect(onChange).toHaveBeenLastCalledWith({ Contact: null, Account: null, OpportunityLineItem: null });
    expect(screen.getByLabelText('Login History')).toBeDisabled();
    expect(screen.getByText('3 of 3 tables selected')).toBeInTheDocument();
    await user.click(screen.getByLabelText('Select all (3)'));
    expect(onChange).toHaveBeenLastCalledWith({});
  });

  it('picks columns; the id and version fields always stay selected', async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    renderUi(<Harness onChange={onChange} />);
    await user.click(screen.getByLabelText('Contact'));
    await user.click(screen.getByRole('button', { name: /Columns: all/ }));
    const list = await screen.findByRole('list', { name: 'Columns of Contact' });
    expect(within(list).getByText('first_name')).toBeInTheDocument();
    expect(within(list).getByLabelText('Id')).toBeDisabled();
    await user.click(within(list).getByLabelText('Email'));
    expect(onChange).toHaveBeenLastCalledWith({ Contact: ['Id', 'FirstName', 'SystemModstamp'] });
    await user.click(screen.getByLabelText('All columns of Contact'));
    expect(onChange).toHaveBeenLastCalledWith({ Contact: null });
    await user.click(screen.getByLabelText('All columns of Contact'));
    expect(onChange).toHaveBeenLastCalledWith({ Contact: ['Id', 'SystemModstamp'] });
    await user.type(screen.getByLabelText('Search columns of Contact'), 'mail');
    await waitFor(() => expect(within(list).queryByLabelText('FirstName')).not.toBeInTheDocument());
  });

  it('shows an error when the columns cannot be loaded', async () => {
    const user = userEvent.setup();
    renderUi(<Harness onChange={() => {}} load={async () => { throw new Error('upstream 503'); }} />);
    await user.click(screen.getByLabelText('Account'));
    await user.click(screen.getByRole('button', { name: /Columns: all/ }));
    expect(await screen.findByRole('alert')).toHaveTextContent('upstream 503');
  });
});
