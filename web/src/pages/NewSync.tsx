import { useEffect, useState } from 'react';
import {
  Alert, Button, Card, Center, Code, Group, List, Loader, Radio, Stack, Stepper, Text, TextInput, Textarea, Title,
} from '@mantine/core';
import { IconInfoCircle } from '@tabler/icons-react';
import { useMediaQuery } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearchParams } from 'react-router';
import { api } from '../api/endpoints';
import { describeError, mapApiErrors } from '../api/errors';
import type { CreateSyncRequest } from '../api/types';
import { ErrorBanner } from '../components/ErrorBanner';
import { SourceChooser } from '../components/SourceChooser';
import { TablePicker, type Selection } from '../components/TablePicker';
import { useSession } from '../session';

const createFields = ['connectionId', 'schema', 'tables', 'destination', 'destination.kind', 'destination.connectionString', 'name', 'pollIntervalMs'];
/** Which wizard step holds each field (to jump back to it on a validation error). */
const stepOf: Record<string, number> = { connectionId: 0, schema: 1, tables: 1, destination: 2, 'destination.kind': 2, 'destination.connectionString': 2, name: 2, pollIntervalMs: 2 };

export function NewSyncPage() {
  const { orgId } = useSession();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const connectionId = params.get('connection');
  const isPhone = useMediaQuery('(max-width: 36em)');
  const stepText = (label: string, description: string) => (isPhone ? {} : { label, description });
  const oauthError = params.get('error');
  const [step, setStep] = useState(connectionId ? 1 : 0);
  const [selection, setSelection] = useState<Selection>({});
  const [schema, setSchema] = useState('salesforce');
  const [destKind, setDestKind] = useState<'hosted' | 'external'>('hosted');
  const [connectionString, setConnectionString] = useState('');
  const [destTest, setDestTest] = useState<{ ok: boolean; error: string | null } | null>(null);
  const testDestination = useMutation({
    mutationFn: () => api.testDestination(orgId, connectionString.trim()),
    onSuccess: (result) => setDestTest(result),
    onError: (error) => setDestTest({ ok: false, error: describeError(error) }),
  });
  const [name, setName] = useState('');

  useEffect(() => {
    if (connectionId && step === 0) setStep(1);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [connectionId]);

  const connection = useQuery({
    queryKey: ['connection', orgId, connectionId],
    queryFn: () => api.connection(orgId, connectionId!),
    enabled: !!connectionId,
  });
  const objects = useQuery({
    queryKey: ['objects', orgId, connectionId],
    queryFn: () => api.objects(orgId, connectionId!),
    enabled: !!connectionId,
    staleTime: 300_000,
  });

  const create = useMutation({
    mutationFn: () => {
      const body: CreateSyncRequest = {
        connectionId: connectionId!,
        schema,
        destination: destKind === 'hosted' ? { kind: 'hosted' } : { kind: 'external', connectionString },
        tables: Object.entries(selection).map(([object, fields]) => ({ object, fields })),
        name: name.trim() || undefined,
      };
      return api.createSync(orgId, body);
    },
    onSuccess: (sync) => {
      client.invalidateQueries({ queryKey: ['syncs', orgId] });
      navigate(`/syncs/${sync.id}?created=1`);
    },
    onError: (e) => {
      const mapped = mapApiErrors(e, createFields);
      const steps = Object.keys(mapped.fields).map((f) => stepOf[f] ?? 3);
      if (steps.length > 0) setStep(Math.min(...steps));
    },
  });
  const errors = mapApiErrors(create.error, createFields);
  const tableCount = Object.keys(selection).length;

  return (
    <Stack maw={960} mx="auto">
      <div>
        <Title order={2}>Set up a sync</Title>
        <Text c="dimmed" size="sm">
          Connect a source, pick the tables and columns, choose where they land. Then query them with SQL and write back through the proxy.
        </Text>
      </div>
      {oauthError && (
        <Alert color="red" title="The connection was not completed" withCloseButton onClose={() => setParams({})} role="alert">
          {oauthError}
        </Alert>
      )}
      {isPhone && step < 4 && (
        <Text size="sm" fw={600} c="indigo.7">
          Step {step + 1} of 4 · {['Connect a source', 'Tables and columns', 'Destination', 'Review and create'][step]}
        </Text>
      )}
      <Stepper active={step} onStepClick={(s) => (s === 0 || connectionId) && setStep(s)} allowNextStepsSelect={false} size="sm">
        <Stepper.Step {...stepText('Source', 'Connect an API')} aria-label="Source">
          <Stack mt="md">
            <SourceChooser
              orgId={orgId}
              returnTo="/new"
              selected={connectionId}
              onSelect={(c) => {
                setParams({ connection: c.id });
                setSelection({});
                setStep(1);
              }}
            />
          </Stack>
        </Stepper.Step>

        <Stepper.Step {...stepText('Tables', 'Tables and columns')} aria-label="Tables">
          <Stack mt="md">
            {connection.data && (
              <Text size="sm">
                Source: <b>{connection.data.name}</b> {connection.data.instanceUrl && <Text span c="dimmed">({connection.data.instanceUrl})</Text>}
              </Text>
            )}
            <TextInput
              label="Schema"
              description="The Postgres schema your tables are created in."
              value={schema}
              onChange={(e) => setSchema(e.currentTarget.value)}
              error={errors.fields.schema}
              maw={320}
              required
            />
            {objects.isPending ? (
              <Center py="xl"><Loader aria-label="Loading tables" /></Center>
            ) : objects.isError ? (
              <ErrorBanner messages={[describeError(objects.error)]} title="Could not list the source's objects" />
            ) : (
              <TablePicker
                objects={objects.data}
                schema={schema}
                value={selection}
                onChange={setSelection}
                loadObject={(n) => api.object(orgId, connectionId!, n)}
                cacheKey={connectionId!}
                error={errors.fields.tables}
              />
            )}
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(0)}>Back</Button>
              <Button onClick={() => setStep(2)} disabled={tableCount === 0}>
                Continue with {tableCount} {tableCount === 1 ? 'table' : 'tables'}
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>

        <Stepper.Step {...stepText('Destination', 'Where data lands')} aria-label="Destination">
          <Stack mt="md">
            <Radio.Group
              label="Destination database"
              value={destKind}
              onChange={(v) => setDestKind(v as 'hosted' | 'external')}
              error={errors.fields['destination.kind'] ?? errors.fields.destination}
            >
              <Stack mt="xs">
                <Card withBorder padding="md">
                  <Radio value="hosted" label="Hosted database (recommended)" description="A Postgres database Sequin runs for your organization. Nothing to set up." />
                </Card>
                <Card withBorder padding="md">
                  <Radio value="external" label="Your own Postgres" description="Sequin creates the schema and tables in your database and keeps them up to date." />
                  {destKind === 'external' && (
                    <Stack mt="sm" ml={32}>
                      <Textarea
                        label="Connection string"
                        placeholder="postgres://user:password@host:5432/database"
                        autosize
                        minRows={1}
                        value={connectionString}
                        onChange={(e) => { setConnectionString(e.currentTarget.value); setDestTest(null); }}
                        error={errors.fields['destination.connectionString']}
                        required
                        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                      />
                      <Group gap="sm" align="center">
                        <Button
                          variant="default"
                          size="xs"
                          loading={testDestination.isPending}
                          disabled={!connectionString.trim()}
                          onClick={() => testDestination.mutate()}
                        >
                          Test connection
                        </Button>
                        {destTest && (
                          <Text size="sm" c={destTest.ok ? 'teal' : 'red'} role="status">
                            {destTest.ok ? 'Connected: Sequin can reach this database.' : destTest.error}
                          </Text>
                        )}
                      </Group>
                      <Text size="xs" c="dimmed">
                        Accepts <Code>Host=…;Database=…;Username=…;Password=…</Code> or a <Code>postgres://</Code> URL. The connection is tested again when you create the sync.
                      </Text>
                    </Stack>
                  )}
                </Card>
              </Stack>
            </Radio.Group>
            <TextInput label="Sync name (optional)" value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.fields.name} maw={420} />
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(1)}>Back</Button>
              <Button onClick={() => setStep(3)} disabled={destKind === 'external' && !connectionString.trim()}>Review</Button>
            </Group>
          </Stack>
        </Stepper.Step>

        <Stepper.Step {...stepText('Create', 'Review and start')} aria-label="Create">
          <Stack mt="md">
            <Card withBorder>
              <Stack gap="xs">
                <Text size="sm"><b>Source:</b> {connection.data?.name ?? 'Salesforce'}</Text>
                <Text size="sm"><b>Destination:</b> {destKind === 'hosted' ? 'Hosted database' : 'Your own Postgres'}</Text>
                <Text size="sm"><b>Tables ({tableCount}):</b></Text>
                <List size="sm" spacing={2}>
                  {Object.entries(selection).map(([object, fields]) => {
                    const table = objects.data?.find((o) => o.name === object)?.table ?? object.toLowerCase();
                    return (
                      <List.Item key={object}>
                        {object} → <Code>{schema}.{table}</Code> ({fields === null ? 'all columns' : `${fields.length} columns`})
                      </List.Item>
                    );
                  })}
                </List>
              </Stack>
            </Card>
            <Alert variant="light" icon={<IconInfoCircle aria-hidden />}>
              Sequin creates the tables, backfills them, then keeps them in sync. You can follow the progress on the next page.
            </Alert>
            <ErrorBanner messages={errors.general} title="Could not create the sync" />
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(2)}>Back</Button>
              <Button onClick={() => create.mutate()} loading={create.isPending} disabled={tableCount === 0}>
                Create sync
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
      </Stepper>
    </Stack>
  );
}
