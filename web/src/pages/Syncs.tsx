import { Anchor, Badge, Button, Card, Center, Code, Group, Loader, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../api/endpoints';
import { describeError } from '../api/errors';
import { ErrorBanner } from '../components/ErrorBanner';
import { stateColor, timeAgo } from '../components/syncFormat';
import { useSession } from '../session';

export function SyncsPage() {
  const { orgId } = useSession();
  const syncs = useQuery({ queryKey: ['syncs', orgId], queryFn: () => api.syncs(orgId), refetchInterval: 5_000 });
  return (
    <Stack maw={1100} mx="auto">
      <Group justify="space-between">
        <Title order={2}>Syncs</Title>
        <Button component={Link} to="/new" leftSection={<IconPlus size={16} aria-hidden />}>New sync</Button>
      </Group>
      {syncs.isPending ? (
        <Center py="xl"><Loader aria-label="Loading syncs" /></Center>
      ) : syncs.isError ? (
        <ErrorBanner messages={[describeError(syncs.error)]} title="Could not load syncs" />
      ) : syncs.data.length === 0 ? (
        <Card withBorder padding="xl">
          <Stack align="center" gap="xs">
            <Title order={4}>No syncs yet</Title>
            <Text c="dimmed" size="sm" ta="center">Connect Salesforce and pick the tables you want in Postgres.</Text>
            <Button component={Link} to="/new" mt="sm">Set up your first sync</Button>
          </Stack>
        </Card>
      ) : (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={600}>
            <Table verticalSpacing="sm" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Sync</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Tables</Table.Th>
                  <Table.Th>Destination</Table.Th>
                  <Table.Th>Created</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {syncs.data.map((s) => {
                  const live = s.tables.filter((t) => t.state === 'live').length;
                  return (
                    <Table.Tr key={s.id}>
                      <Table.Td>
                        <Anchor component={Link} to={`/syncs/${s.id}`} fw={500}>{s.name || `Salesforce → ${s.schema}`}</Anchor>
                        <Text size="xs" c="dimmed"><Code>{s.schema}</Code></Text>
                      </Table.Td>
                      <Table.Td><Badge color={stateColor[s.state] ?? 'gray'} variant="light">{s.state}</Badge></Table.Td>
                      <Table.Td>
                        <Text size="sm">{live} of {s.tables.length} live</Text>
                        <Progress value={s.tables.length ? (live / s.tables.length) * 100 : 0} size="xs" mt={4} color="green" aria-label="Tables live" />
                      </Table.Td>
                      <Table.Td><Text size="sm">{s.destination.kind === 'hosted' ? 'Hosted' : `${s.destination.host}/${s.destination.database}`}</Text></Table.Td>
                      <Table.Td><Text size="sm">{timeAgo(s.createdAt)}</Text></Table.Td>
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
