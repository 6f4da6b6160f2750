import { Badge, Button, Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/endpoints';
import { describeError } from '../api/errors';
import type { ConnectionTest } from '../api/types';
import { ErrorBanner } from '../components/ErrorBanner';
import { SourceChooser } from '../components/SourceChooser';
import { timeAgo } from '../components/syncFormat';
import { useSession } from '../session';
import { useState } from 'react';

export function SourcesPage() {
  const { orgId } = useSession();
  const client = useQueryClient();
  const [params] = useSearchParams();
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const [tests, setTests] = useState<Record<string, ConnectionTest>>({});
  const test = useMutation({
    mutationFn: (id: string) => api.testConnection(orgId, id),
    onSuccess: (r, id) => {
      setTests((t) => ({ ...t, [id]: r }));
      client.invalidateQueries({ queryKey: ['connections', orgId] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.deleteConnection(orgId, id),
    onSuccess: () => client.invalidateQueries({ queryKey: ['connections', orgId] }),
  });

  return (
    <Stack maw={1100} mx="auto">
      <Title order={2}>Sources</Title>
      {params.get('error') && <ErrorBanner title="The connection was not completed" messages={[params.get('error')!]} />}
      {params.get('connection') && (
        <Card withBorder padding="sm" bg="green.0">
          <Group justify="space-between">
            <Text size="sm">Salesforce connected.</Text>
            <Button size="xs" component={Link} to={`/new?connection=${params.get('connection')}`}>Pick tables</Button>
          </Group>
        </Card>
      )}
      <SourceChooser orgId={orgId} returnTo="/sources" />
      <Title order={3} mt="md">Connections</Title>
      {[test.error, remove.error].filter(Boolean).map((e, i) => <ErrorBanner key={i} messages={[describeError(e)]} />)}
      {connections.isError && <ErrorBanner messages={[describeError(connections.error)]} title="Could not load connections" />}
      {connections.data && connections.data.length === 0 && <Text c="dimmed" size="sm">No sources connected yet.</Text>}
      {connections.data && connections.data.length > 0 && (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr><Table.Th>Name</Table.Th><Table.Th>Status</Table.Th><Table.Th>Last tested</Table.Th><Table.Th>Actions</Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {connections.data.map((c) => {
                  const r = tests[c.id];
                  return (
                    <Table.Tr key={c.id}>
                      <Table.Td>
                        <Text fw={500} size="sm">{c.name}</Text>
                        <Text size="xs" c="dimmed">{c.kind} · {c.instanceUrl}</Text>
                      </Table.Td>
                      <Table.Td>
                        <Badge color={c.status === 'active' ? 'green' : 'red'} variant="light">{c.status}</Badge>
                        {(r?.error || c.lastError) && <Text size="xs" c="red" mt={2}>{r?.error ?? c.lastError}</Text>}
                        {r?.ok && <Text size="xs" c="teal" mt={2}>OK · {r.objects} objects · {r.latencyMs} ms</Text>}
                      </Table.Td>
                      <Table.Td><Text size="sm">{timeAgo(c.lastTestedAt)}</Text></Table.Td>
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <Button size="xs" variant="default" loading={test.isPending && test.variables === c.id} onClick={() => test.mutate(c.id)}>Test</Button>
                          <Button size="xs" variant="light" component={Link} to={`/new?connection=${c.id}`}>New sync</Button>
                          <Button size="xs" variant="subtle" color="red" loading={remove.isPending && remove.variables === c.id}
                            onClick={() => window.confirm(`Delete the connection ${c.name}?`) && remove.mutate(c.id)}>Delete</Button>
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
    </Stack>
  );
}
