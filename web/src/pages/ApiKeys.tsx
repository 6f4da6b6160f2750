import { useState } from 'react';
import { Alert, Badge, Button, Card, Center, Group, Loader, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import { describeError, mapApiErrors } from '../api/errors';
import type { CreatedApiKey } from '../api/types';
import { CopyField } from '../components/CopyField';
import { ErrorBanner } from '../components/ErrorBanner';
import { timeAgo } from '../components/syncFormat';
import { useSession } from '../session';

export function ApiKeysPage() {
  const { orgId } = useSession();
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys', orgId], queryFn: () => api.apiKeys(orgId) });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const create = useMutation({
    mutationFn: () => api.createApiKey(orgId, name),
    onSuccess: (k) => {
      setCreated(k);
      setName('');
      client.invalidateQueries({ queryKey: ['api-keys', orgId] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeApiKey(orgId, id),
    onSuccess: () => client.invalidateQueries({ queryKey: ['api-keys', orgId] }),
  });
  const errors = mapApiErrors(create.error, ['name']);

  return (
    <Stack maw={960} mx="auto">
      <div>
        <Title order={2}>API keys</Title>
        <Text c="dimmed" size="sm">Automate Sequin with the REST API: send <code>Authorization: Bearer &lt;key&gt;</code>.</Text>
      </div>
      <Card withBorder>
        <form onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
          <Group align="flex-start" wrap="wrap">
            <TextInput label="Key name" placeholder="CI deploys" value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.fields.name} required style={{ flex: '1 1 240px' }} />
            <Button type="submit" mt={25} loading={create.isPending}>Create key</Button>
          </Group>
          <ErrorBanner messages={errors.general} />
        </form>
      </Card>
      {created && (
        <Alert color="green" variant="light" title={`Key “${created.name}” created`} withCloseButton onClose={() => setCreated(null)}>
          <Text size="sm" mb="xs">Copy it now: it is shown only once.</Text>
          <CopyField label="API key" value={created.key} testId="created-api-key" />
        </Alert>
      )}
      {revoke.isError && <ErrorBanner messages={[describeError(revoke.error)]} title="Could not revoke" />}
      {keys.isPending ? <Center><Loader aria-label="Loading API keys" /></Center> : keys.isError ? (
        <ErrorBanner messages={[describeError(keys.error)]} title="Could not load API keys" />
      ) : keys.data.length === 0 ? (
        <Text c="dimmed" size="sm">No API keys yet.</Text>
      ) : (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="sm">
              <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Key</Table.Th><Table.Th>Created</Table.Th><Table.Th>Last used</Table.Th><Table.Th /></Table.Tr></Table.Thead>
              <Table.Tbody>
                {keys.data.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td>{k.name}</Table.Td>
                    <Table.Td><code>{k.prefix}…</code></Table.Td>
                    <Table.Td>{timeAgo(k.createdAt)}</Table.Td>
                    <Table.Td>{timeAgo(k.lastUsedAt)}</Table.Td>
                    <Table.Td>
                      {k.revokedAt ? <Badge color="gray">revoked</Badge> : (
                        <Button size="xs" color="red" variant="subtle" loading={revoke.isPending && revoke.variables === k.id}
                          onClick={() => window.confirm(`Revoke ${k.name}? Clients using it stop working.`) && revoke.mutate(k.id)}
                          aria-label={`Revoke ${k.name}`}>Revoke</Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
    </Stack>
  );
}
