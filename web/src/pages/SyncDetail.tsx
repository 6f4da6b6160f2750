import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import {
  Alert, Anchor, Badge, Button, Card, Center, Group, Loader, Paper, Progress, Stack, Table, Text, Title, Tooltip, Code, ActionIcon,
} from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { IconAlertTriangle, IconPlayerPause, IconPlayerPlay, IconRefresh, IconTrash, IconCircleCheck } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api } from '../api/endpoints';
import { ApiError, describeError } from '../api/errors';
import type { Sync, SyncTable } from '../api/types';
import { ConnectionInstructions } from '../components/ConnectionInstructions';
import { ErrorBanner } from '../components/ErrorBanner';
import { formatLag, formatRows, progressOf, stateColor, timeAgo } from '../components/syncFormat';
import type { Sample } from '../components/SyncChart';
import { useSession } from '../session';

/** Backfill progress; striped and animated while running, indeterminate (full, striped) when the total is unknown. */
function TableProgress({ table: t, pct, mt }: { table: SyncTable; pct: number | null; mt?: string }) {
  const running = pct === null || t.state === 'backfilling';
  return (
    <Progress.Root size="md" mt={mt}>
      <Progress.Section
        value={pct ?? 100}
        striped={running}
        animated={running}
        color={t.state === 'error' ? 'red' : t.state === 'live' ? 'green' : 'indigo'}
        withAria={false}
        role="progressbar"
        aria-label={`Backfill progress of ${t.object}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={pct === null ? 'unknown total' : `${pct}%`}
      />
    </Progress.Root>
  );
}

const SyncChart = lazy(() => import('../components/SyncChart'));
const MAX_SAMPLES = 120;

export default function SyncDetailPage() {
  const { syncId = '' } = useParams();
  const { orgId } = useSession();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const isPhone = useMediaQuery('(max-width: 36em)');
  const sync = useQuery({
    queryKey: ['sync', orgId, syncId],
    queryFn: () => api.sync(orgId, syncId),
    refetchInterval: (q) => (q.state.error ? 10_000 : 2_000),
  });

  // Client-side history of the polled totals (there is no "changes over time" endpoint yet).
  const [samples, setSamples] = useState<Sample[]>([]);
  const lastUpdate = useRef(0);
  useEffect(() => {
    if (!sync.data || sync.dataUpdatedAt === lastUpdate.current) return;
    lastUpdate.current = sync.dataUpdatedAt;
    const rows = sync.data.tables.reduce((s, t) => s + t.rowsDone, 0);
    const lags = sync.data.tables.map((t) => t.lagSeconds).filter((l): l is number => l !== null);
    const sample: Sample = {
      time: new Date(sync.dataUpdatedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
      rows,
      lag: lags.length ? Math.round(Math.max(...lags) * 10) / 10 : null,
    };
    setSamples((s) => [...s.slice(-(MAX_SAMPLES - 1)), sample]);
  }, [sync.data, sync.dataUpdatedAt]);

  const onChanged = (s?: Sync | void) => {
    if (s && typeof s === 'object') client.setQueryData(['sync', orgId, syncId], s);
    client.invalidateQueries({ queryKey: ['sync', orgId, syncId] });
    client.invalidateQueries({ queryKey: ['syncs', orgId] });
  };
  const pause = useMutation({ mutationFn: () => api.pauseSync(orgId, syncId), onSuccess: onChanged });
  const resume = useMutation({ mutationFn: () => api.resumeSync(orgId, syncId), onSuccess: onChanged });
  const resync = useMutation({ mutationFn: (table: string) => api.resyncTable(orgId, syncId, table), onSuccess: () => onChanged() });
  const remove = useMutation({
    mutationFn: () => api.deleteSync(orgId, syncId),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ['syncs', orgId] });
      navigate('/syncs');
    },
  });
  const actionError = [pause.error, resume.error, resync.error, remove.error].find(Boolean);

  if (sync.isPending) return <Center py="xl"><Loader aria-label="Loading sync" /></Center>;
  if (sync.isError) {
    const notFound = sync.error instanceof ApiError && sync.error.status === 404;
    return (
      <ErrorBanner
        title={notFound ? 'Sync not found' : 'Could not load the sync'}
        messages={[notFound ? 'This sync does not exist or was deleted.' : describeError(sync.error)]}
      />
    );
  }

  const s = sync.data;
  const paused = s.state === 'paused';
  const allLive = s.tables.length > 0 && s.tables.every((t) => t.state === 'live');
  // The sync's own state can trail its tables' by a poll; show what the tables say once they are all live.
  const shownState = s.state === 'backfilling' && allLive ? 'live' : s.state;
  const errors = [
    ...(s.lastError ? [{ where: 'Sync', message: s.lastError }] : []),
    ...s.tables.filter((t) => t.lastError).map((t) => ({ where: t.object, message: t.lastError! })),
  ];

  return (
    <Stack maw={1100} mx="auto">
      <Group justify="space-between" align="flex-start" wrap="wrap">
        <div>
          <Anchor component={Link} to="/syncs" size="sm">← Syncs</Anchor>
          <Group gap="sm" mt={4}>
            <Title order={2}>{s.name || `Salesforce → ${s.schema}`}</Title>
            <Badge color={stateColor[shownState] ?? 'gray'} variant="light" data-testid="sync-state">{shownState}</Badge>
          </Group>
          <Text size="sm" c="dimmed">
            Schema <Code>{s.schema}</Code> in the {s.destination.kind === 'hosted' ? 'hosted database' : 'your Postgres'} ·
            polling every {(s.pollIntervalMs / 1000).toLocaleString()} s · created {timeAgo(s.createdAt)}
          </Text>
        </div>
        <Group gap="xs">
          {paused ? (
            <Button variant="light" leftSection={<IconPlayerPlay size={16} aria-hidden />} onClick={() => resume.mutate()} loading={resume.isPending}>Resume</Button>
          ) : (
            <Button variant="default" leftSection={<IconPlayerPause size={16} aria-hidden />} onClick={() => pause.mutate()} loading={pause.isPending}>Pause</Button>
          )}
          <Button
            variant="subtle"
            color="red"
            leftSection={<IconTrash size={16} aria-hidden />}
            loading={remove.isPending}
            onClick={() => window.confirm('Delete this sync? Its tables are dropped from the destination.') && remove.mutate()}
          >
            Delete
          </Button>
        </Group>
      </Group>

      {params.get('created') && (
        <Alert color={allLive ? 'green' : 'indigo'} variant="light" withCloseButton onClose={() => setParams({})} icon={allLive ? <IconCircleCheck aria-hidden /> : undefined}>
          {allLive
            ? 'Your tables are live. Connect with the instructions below and run select * from ' + `${s.schema}.${s.tables[0]?.table ?? 'contact'};`
            : 'Sync created. Sequin is creating your tables and backfilling them; this page updates as it goes.'}
        </Alert>
      )}
      {actionError && <ErrorBanner messages={[describeError(actionError)]} title="Action failed" />}

      <Card withBorder padding="md">
        <Title order={4} mb="sm">Tables</Title>
        {isPhone ? (
          <Stack gap="sm">
            {s.tables.map((t) => {
              const pct = progressOf(t);
              return (
                <Paper key={t.object} withBorder p="sm" radius="md" data-testid={`table-row-${t.object}`}>
                  <Group justify="space-between" wrap="nowrap">
                    <Text fw={500}>{t.object}</Text>
                    <Badge color={stateColor[t.state] ?? 'gray'} variant="light" data-testid={`table-state-${t.object}`}>{t.state}</Badge>
                  </Group>
                  <Code>{s.schema}.{t.table}</Code>
                  <TableProgress mt="xs" table={t} pct={pct} />
                  <Group justify="space-between" mt={4}>
                    <Text size="xs" c="dimmed" data-testid={`table-rows-${t.object}`}>{formatRows(t)}</Text>
                    <Text size="xs" c="dimmed">lag {formatLag(t.lagSeconds)} · {timeAgo(t.lastSyncedAt)}</Text>
                  </Group>
                </Paper>
              );
            })}
          </Stack>
        ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table verticalSpacing="sm" highlightOnHover aria-label="Synced tables">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Object</Table.Th>
                <Table.Th>Postgres table</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th w={240}>Progress</Table.Th>
                <Table.Th>Lag</Table.Th>
                <Table.Th>Last synced</Table.Th>
                <Table.Th><span className="visually-hidden" style={{ position: 'absolute', left: -9999 }}>Actions</span></Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {s.tables.map((t) => {
                const pct = progressOf(t);
                return (
                  <Table.Tr key={t.object} data-testid={`table-row-${t.object}`}>
                    <Table.Td fw={500}>{t.object}</Table.Td>
                    <Table.Td><Code>{s.schema}.{t.table}</Code></Table.Td>
                    <Table.Td>
                      <Badge color={stateColor[t.state] ?? 'gray'} variant="light" data-testid={`table-state-${t.object}`}>{t.state}</Badge>
                    </Table.Td>
                    <Table.Td>
                      <TableProgress table={t} pct={pct} />
                      <Text size="xs" c="dimmed" mt={4} data-testid={`table-rows-${t.object}`}>
                        {formatRows(t)}
                      </Text>
                    </Table.Td>
                    <Table.Td>{formatLag(t.lagSeconds)}</Table.Td>
                    <Table.Td>
                      <Tooltip label={t.lastSyncedAt ?? 'never'}><Text size="sm">{timeAgo(t.lastSyncedAt)}</Text></Tooltip>
                    </Table.Td>
                    <Table.Td>
                      <Tooltip label={`Resync ${t.object} from scratch`}>
                        <ActionIcon
                          variant="subtle"
                          aria-label={`Resync ${t.object}`}
                          loading={resync.isPending && resync.variables === t.table}
                          onClick={() => window.confirm(`Backfill ${t.object} again from scratch?`) && resync.mutate(t.table)}
                        >
                          <IconRefresh size={16} />
                        </ActionIcon>
                      </Tooltip>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        )}
        {s.tables.length === 0 && <Text c="dimmed" size="sm">This sync has no tables.</Text>}
      </Card>

      <Card withBorder padding="md">
        <Group justify="space-between" mb="xs">
          <Title order={4}>Activity</Title>
          <Text size="xs" c="dimmed">Rows synced and lag, sampled every 2 s while this page is open</Text>
        </Group>
        {samples.length < 2 ? (
          <Text size="sm" c="dimmed">Collecting samples…</Text>
        ) : (
          <Suspense fallback={<Loader size="sm" aria-label="Loading chart" />}>
            <SyncChart samples={samples} />
          </Suspense>
        )}
      </Card>

      <Card withBorder padding="md">
        <Title order={4} mb="xs">Recent errors</Title>
        {errors.length === 0 ? (
          <Text size="sm" c="dimmed">No errors.</Text>
        ) : (
          <Stack gap="xs" role="list">
            {errors.map((e, i) => (
              <Alert key={i} role="listitem" color="red" variant="light" icon={<IconAlertTriangle size={16} aria-hidden />} title={e.where} p="xs">
                <Text size="sm" ff="monospace" style={{ whiteSpace: 'pre-wrap' }}>{e.message}</Text>
              </Alert>
            ))}
          </Stack>
        )}
      </Card>

      <Card withBorder padding="md" id="connection-instructions">
        <Title order={4} mb={4}>Connection instructions</Title>
        <Text size="sm" c="dimmed" mb="sm">
          Connect any Postgres client. Reads come from your synced tables; inserts, updates and deletes go to Salesforce first and commit only if Salesforce accepts them.
        </Text>
        <ConnectionInstructions orgId={orgId} syncId={syncId} />
      </Card>
    </Stack>
  );
}
