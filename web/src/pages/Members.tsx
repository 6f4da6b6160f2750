import { Badge, Card, Center, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import { describeError } from '../api/errors';
import { ErrorBanner } from '../components/ErrorBanner';
import { useSession } from '../session';

export function MembersPage() {
  const { orgId, org } = useSession();
  const members = useQuery({ queryKey: ['members', orgId], queryFn: () => api.members(orgId) });
  return (
    <Stack maw={960} mx="auto">
      <div>
        <Title order={2}>Members</Title>
        <Text c="dimmed" size="sm">People in {org.name}.</Text>
      </div>
      {members.isPending ? <Center><Loader aria-label="Loading members" /></Center> : members.isError ? (
        <ErrorBanner messages={[describeError(members.error)]} title="Could not load members" />
      ) : (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={480}>
            <Table verticalSpacing="sm">
              <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Email</Table.Th><Table.Th>Role</Table.Th><Table.Th>Since</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {members.data.map((m) => (
                  <Table.Tr key={m.userId}>
                    <Table.Td>{m.name ?? '—'}</Table.Td>
                    <Table.Td>{m.email}</Table.Td>
                    <Table.Td><Badge variant="light" color={m.role === 'owner' ? 'indigo' : 'gray'}>{m.role}</Badge></Table.Td>
                    <Table.Td>{new Date(m.since).toLocaleDateString()}</Table.Td>
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
