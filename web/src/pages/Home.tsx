import { Center, Loader } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Navigate } from 'react-router';
import { api } from '../api/endpoints';
import { useSession } from '../session';

/** "/": the onboarding wizard for a new organization, the list of syncs otherwise. */
export function HomeRedirect() {
  const { orgId } = useSession();
  const syncs = useQuery({ queryKey: ['syncs', orgId], queryFn: () => api.syncs(orgId) });
  if (syncs.isPending) return <Center py="xl"><Loader aria-label="Loading" /></Center>;
  return <Navigate to={syncs.data && syncs.data.length > 0 ? '/syncs' : '/new'} replace />;
}
