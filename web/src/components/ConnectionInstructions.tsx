import { useState } from 'react';
import { Alert, Button, Group, Loader, SimpleGrid, Stack, Tabs, Text } from '@mantine/core';
import { IconEye, IconEyeOff, IconInfoCircle, IconRefresh } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import { describeError } from '../api/errors';
import type { ConnectionEndpoint, ConnectionInstructions as Instructions } from '../api/types';
import { CopyField } from './CopyField';
import { ErrorBanner } from './ErrorBanner';

const MASK = '••••••••';

export interface ConnectionInstructionsProps {
  orgId: string;
  syncId: string;
  /** Injected in tests. */
  load?: (reveal: boolean) => Promise<Instructions>;
  rotate?: (which: 'proxy' | 'direct') => Promise<unknown>;
}

/** Host, port, database, user, password (revealed on demand), URL and psql command, each with a copy button. */
export function ConnectionInstructions({ orgId, syncId, load, rotate }: ConnectionInstructionsProps) {
  const [reveal, setReveal] = useState(false);
  const client = useQueryClient();
  const fetcher = load ?? ((r: boolean) => api.instructions(orgId, syncId, r));
  const query = useQuery({
    queryKey: ['instructions', orgId, syncId, reveal],
    queryFn: () => fetcher(reveal),
    staleTime: reveal ? 0 : 30_000,
    gcTime: reveal ? 0 : undefined,
  });
  const rotation = useMutation({
    mutationFn: (which: 'proxy' | 'direct') => (rotate ?? ((w) => api.rotateCredentials(orgId, syncId, w)))(which),
    onSuccess: () => client.invalidateQueries({ queryKey: ['instructions', orgId, syncId] }),
  });

  if (query.isPending) return <Loader size="sm" aria-label="Loading connection instructions" />;
  if (query.isError) return <ErrorBanner messages={[describeError(query.error)]} title="Could not load connection instructions" />;

  const revealButton = (
    <Button
      variant="light"
      size="xs"
      leftSection={reveal ? <IconEyeOff size={14} aria-hidden /> : <IconEye size={14} aria-hidden />}
      onClick={() => setReveal((r) => !r)}
      aria-pressed={reveal}
    >
      {reveal ? 'Hide password' : 'Reveal password'}
    </Button>
  );

  const endpoint = (e: ConnectionEndpoint, which: 'proxy' | 'direct') => (
    <Stack gap="sm">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
        <CopyField label="Host" value={e.host} testId={`${which}-host`} />
        <CopyField label="Port" value={String(e.port)} testId={`${which}-port`} />
        <CopyField label="Database" value={e.database} testId={`${which}-database`} />
        <CopyField label="User" value={e.user} testId={`${which}-user`} />
      </SimpleGrid>
      <CopyField
        label="Password"
        value={e.password ?? ''}
        display={e.password ?? MASK}
        testId={`${which}-password`}
        extra={revealButton}
      />
      <CopyField label="URL" value={e.url} testId={`${which}-url`} />
      <CopyField label="psql" value={e.psql} testId={`${which}-psql`} />
      {e.note && (
        <Alert variant="light" color="gray" icon={<IconInfoCircle size={16} aria-hidden />} p="xs">
          <Text size="sm">{e.note}</Text>
        </Alert>
      )}
      <Group>
        <Button
          variant="subtle"
          color="red"
          size="xs"
          leftSection={<IconRefresh size={14} aria-hidden />}
          loading={rotation.isPending && rotation.variables === which}
          onClick={() => {
            if (window.confirm(`Rotate the ${which} password? Clients using the current one will be disconnected.`)) rotation.mutate(which);
          }}
        >
          Rotate password
        </Button>
        {rotation.isError && <Text c="red" size="sm" role="alert">{describeError(rotation.error)}</Text>}
        {rotation.isSuccess && <Text c="teal" size="sm" role="status">Password rotated. Reveal it to see the new one.</Text>}
      </Group>
    </Stack>
  );

  const data = query.data;
  if (!data.direct) return endpoint(data.proxy, 'proxy');
  return (
    <Tabs defaultValue="proxy">
      <Tabs.List mb="sm">
        <Tabs.Tab value="proxy">Proxy (read & write)</Tabs.Tab>
        <Tabs.Tab value="direct">Direct (read only)</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="proxy">{endpoint(data.proxy, 'proxy')}</Tabs.Panel>
      <Tabs.Panel value="direct">{endpoint(data.direct, 'direct')}</Tabs.Panel>
    </Tabs>
  );
}
