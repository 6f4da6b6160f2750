import { lazy, Suspense } from 'react';
import { MantineProvider, Center, Loader } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/errors';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { theme } from './theme';
import { RequireSession } from './session';
import { Layout } from './components/Layout';
import { SignInPage, SignUpPage } from './pages/Auth';
import { HomeRedirect } from './pages/Home';
import { NewSyncPage } from './pages/NewSync';
import { SyncsPage } from './pages/Syncs';
import { SourcesPage } from './pages/Sources';
import { ApiKeysPage } from './pages/ApiKeys';
import { MembersPage } from './pages/Members';
import { AuditLogPage } from './pages/AuditLog';

const SyncDetailPage = lazy(() => import('./pages/SyncDetail'));

// A 401 anywhere means the session ended: forget who we were, so the gate sends the user to sign in.
const onError = (error: unknown) => {
  if (error instanceof ApiError && error.status === 401 && queryClient.getQueryData(['me'])) {
    queryClient.setQueryData(['me'], null);
  }
};
const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: true,
    },
  },
});

export function App() {
  return (
    <MantineProvider theme={theme} defaultColorScheme="light">
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <Routes>
            <Route path="/signin" element={<SignInPage />} />
            <Route path="/signup" element={<SignUpPage />} />
            <Route
              element={
                <RequireSession>
                  <Layout />
                </RequireSession>
              }
            >
              <Route index element={<HomeRedirect />} />
              <Route path="new" element={<NewSyncPage />} />
              <Route path="syncs" element={<SyncsPage />} />
              <Route
                path="syncs/:syncId"
                element={
                  <Suspense fallback={<Center py="xl"><Loader aria-label="Loading" /></Center>}>
                    <SyncDetailPage />
                  </Suspense>
                }
              />
              <Route path="sources" element={<SourcesPage />} />
              <Route path="settings/api-keys" element={<ApiKeysPage />} />
              <Route path="settings/members" element={<MembersPage />} />
              <Route path="settings/audit-log" element={<AuditLogPage />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Route>
          </Routes>
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  );
}
