import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Navigate, useLocation } from 'react-router';
import { Center, Loader } from '@mantine/core';
import { api } from './api/endpoints';
import { ApiError } from './api/errors';
import { refreshCsrf, resetCsrf } from './api/client';
import type { Me } from './api/types';

interface Session {
  me: Me;
  orgId: string;
  org: Me['organizations'][number];
  setOrgId: (id: string) => void;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);
const ORG_KEY = 'sequin.orgId';

export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return await api.me();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

/** Gate for signed-in pages: redirects to /signin and provides the session (user + current organization). */
export function RequireSession({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  const client = useQueryClient();
  const [orgId, setOrgIdState] = useState<string | null>(() => localStorage.getItem(ORG_KEY));

  const value = useMemo<Session | null>(() => {
    if (!me.data || me.data.organizations.length === 0) return null;
    const org = me.data.organizations.find((o) => o.id === orgId) ?? me.data.organizations[0];
    return {
      me: me.data,
      orgId: org.id,
      org,
      setOrgId: (id: string) => {
        localStorage.setItem(ORG_KEY, id);
        setOrgIdState(id);
      },
      signOut: async () => {
        try {
          await api.signOut();
        } finally {
          resetCsrf();
          client.clear();
          client.setQueryData(['me'], null);
        }
      },
    };
  }, [me.data, orgId, client]);

  if (me.isPending) {
    return (
      <Center h="100vh" aria-busy="true">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (!me.data) {
    const next = location.pathname + location.search;
    return <Navigate to={`/signin${next && next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />;
  }
  if (!value) return <Navigate to="/signup" replace />;
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside RequireSession');
  return s;
}

/** After sign-in / sign-up: fetch the CSRF token for the new session and reload who we are. */
export async function afterAuthentication(client: ReturnType<typeof useQueryClient>) {
  await refreshCsrf();
  client.clear();
  await client.fetchQuery({ queryKey: ['me'], queryFn: () => api.me() });
}
