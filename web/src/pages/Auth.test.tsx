import { afterEach, describe, expect, it, vi } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { SignInPage, SignUpPage } from './Auth';
import { renderUi } from '../test/render';

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json' } });
}

afterEach(() => vi.unstubAllGlobals());

describe('sign up', () => {
  it('shows each validation error next to its field', async () => {
    const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.endsWith('/me')) return json(401, { title: 'Unauthorized' });
      if (url.endsWith('/auth/signup')) {
        return json(400, {
          title: 'One or more validation errors occurred.',
          errors: { password: ["The length of 'Password' must be at least 10 characters."], organizationName: ["'Organization Name' must not be empty."] },
        });
      }
      return json(404, {});
    });
    vi.stubGlobal('fetch', fetchMock);
    const user = userEvent.setup();
    renderUi(
      <MemoryRouter initialEntries={['/signup']}>
        <Routes>
          <Route path="/signup" element={<SignUpPage />} />
        </Routes>
      </MemoryRouter>,
    );
    await user.type(screen.getByRole('textbox', { name: /Work email/ }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'short');
    await user.click(screen.getByRole('button', { name: 'Create account' }));

    const password = screen.getByLabelText(/^Password/);
    const passwordError = await screen.findByText(/must be at least 10 characters/);
    expect(password.getAttribute('aria-describedby')).toContain(passwordError.id);
    const org = screen.getByRole('textbox', { name: /Organization name/ });
    expect(org.getAttribute('aria-describedby')).toContain(screen.getByText(/must not be empty/).id);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    const [, init] = fetchMock.mock.calls.find(([u]) => String(u).endsWith('/auth/signup')) as unknown as [string, RequestInit];
    expect(JSON.parse(init.body as string)).toMatchObject({ email: 'ada@example.com', password: 'short' });
  });
});

describe('sign in', () => {
  it('explains a 401 in plain words', async () => {
    vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL) =>
      String(input).endsWith('/me') ? json(401, {}) : json(401, { title: 'Unauthorized', status: 401 })));
    const user = userEvent.setup();
    renderUi(
      <MemoryRouter initialEntries={['/signin']}>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
        </Routes>
      </MemoryRouter>,
    );
    await user.type(screen.getByRole('textbox', { name: /Email/ }), 'ada@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'whatever-long');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Email or password is incorrect.');
  });
});
