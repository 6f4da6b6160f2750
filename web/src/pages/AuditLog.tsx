import { Button, Card, Center, Code, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import { ApiError, describeError } from '../api/errors';
import { ErrorBanner } from '../components/ErrorBanner';
import { useSession } from '../session';

const PAGE = 50;

export function AuditLogPage() {
  const { orgId } = useSession();
  const log = useInfiniteQuery({
    queryKey: ['audit-log', orgId],
    queryFn: ({ pageParam }) => api.auditLog(orgId, pageParam, PAGE),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.length < PAGE ? undefined : last[last.length - 1].id),
  });
  const rows = log.data?.pages.flat() ?? [];
  return (
    <Stack maw={1100} mx="auto">
      <div>
        <Title order={2}>Audit log</Title>
        <Text c="dimmed" size="sm">Who did what, newest first.</Text>
      </div>
      {log.isPending ? <Center><Loader aria-label="Loading audit log" /></Center> : log.isError ? (
        <ErrorBanner
          messages={[log.error instanceof ApiError && log.error.status === 403 ? 'Only admins can read the audit log.' : describeError(log.error)]}
          title="Could not load the audit log"
        />
      ) : rows.length === 0 ? (
        <Text c="dimmed" size="sm">Nothing recorded yet.</Text>
      ) : (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={720}>
            <Table verticalSpacing="xs" fz="sm">
              <Table.Thead><Table.Tr><Table.Th>When</Table.Th><Table.Th>Who</Table.Th><Table.Th>Action</Table.Th><Table.Th>Target</Table.Th><Table.Th>From</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {rows.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>{new Date(e.at).toLocaleString()}</Table.Td>
                    <Table.Td>{e.actorEmail ?? (e.actorApiKeyId ? `API key ${e.actorApiKeyId.slice(0, 8)}` : 'system')}</Table.Td>
                    <Table.Td><Code>{e.action}</Code></Table.Td>
                    <Table.Td>{e.targetType ? <span title={e.targetId ?? undefined}>{e.targetType} <Code>…{e.targetId?.slice(-8) ?? ''}</Code></span> : '—'}</Table.Td>
                    <Table.Td>{e.remoteIp ?? '—'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
      {log.hasNextPage && (
        <Center><Button variant="default" onClick={() => log.fetchNextPage()} loading={log.isFetchingNextPage}>Load older</Button></Center>
      )}
    </Stack>
  );
}
