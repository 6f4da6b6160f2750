import { Badge, Button, Card, Group, Radio, SimpleGrid, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import { IconCloudComputing, IconBrandStripe, IconCloud, IconTable, IconCheck } from '@tabler/icons-react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import { describeError } from '../api/errors';
import type { Connection } from '../api/types';
import { ErrorBanner } from './ErrorBanner';

const upcoming = [
  { kind: 'hubspot', name: 'HubSpot', icon: IconCloud, color: 'orange' },
  { kind: 'airtable', name: 'Airtable', icon: IconTable, color: 'yellow' },
  { kind: 'stripe', name: 'Stripe', icon: IconBrandStripe, color: 'violet' },
];

export interface SourceChooserProps {
  orgId: string;
  /** Where the OAuth flow comes back to (a path of this site); `?connection={id}` is appended. */
  returnTo: string;
  selected?: string | null;
  onSelect?: (connection: Connection) => void;
}

/** Salesforce (connect through OAuth, or pick an existing connection) and the sources that are coming. */
export function SourceChooser({ orgId, returnTo, selected, onSelect }: SourceChooserProps) {
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const connect = useMutation({
    mutationFn: () => api.startOAuth(orgId, { kind: 'salesforce', environment: 'sandbox', returnTo }),
    onSuccess: ({ authorizeUrl }) => window.location.assign(authorizeUrl),
  });
  const salesforce = (connections.data ?? []).filter((c) => c.kind === 'salesforce');

  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
        <Card withBorder padding="lg" radius="md">
          <Group justify="space-between" mb="xs">
            <Group gap="sm">
              <ThemeIcon color="blue" variant="light" size="lg" radius="md">
                <IconCloudComputing size={22} aria-hidden />
              </ThemeIcon>
              <Title order={4}>Salesforce</Title>
            </Group>
            <Badge color="green" variant="light">Available</Badge>
          </Group>
          <Text size="sm" c="dimmed" mb="md">
            Sign in to Salesforce and allow Sequin to read and write your objects. You are sent to Salesforce's consent page and back here.
          </Text>
          <Button onClick={() => connect.mutate()} loading={connect.isPending || connect.isSuccess}>
            Connect Salesforce
          </Button>
          {connect.isError && <Text c="red" size="sm" mt="xs" role="alert">{describeError(connect.error)}</Text>}
        </Card>
        {upcoming.map((s) => (
          <Card key={s.kind} withBorder padding="lg" radius="md" aria-disabled="true" style={{ opacity: 0.65 }}>
            <Group justify="space-between" mb="xs">
              <Group gap="sm">
                <ThemeIcon color={s.color} variant="light" size="lg" radius="md">
                  <s.icon size={22} aria-hidden />
                </ThemeIcon>
                <Title order={4}>{s.name}</Title>
              </Group>
              <Badge color="gray" variant="light">Coming soon</Badge>
            </Group>
            <Text size="sm" c="dimmed" mb="md">
              The {s.name} connector is on its way.
            </Text>
            <Button disabled variant="default">
              Connect {s.name}
            </Button>
          </Card>
        ))}
      </SimpleGrid>

      {onSelect && salesforce.length > 0 && (
        <Card withBorder padding="md" radius="md">
          <Radio.Group
            label="Or use a connected Salesforce org"
            value={selected ?? ''}
            onChange={(id) => {
              const c = salesforce.find((x) => x.id === id);
              if (c) onSelect(c);
            }}
          >
            <Stack gap="xs" mt="xs">
              {salesforce.map((c) => (
                <Radio
                  key={c.id}
                  value={c.id}
                  label={
                    <Group gap="xs">
                      <Text size="sm">{c.name}</Text>
                      {c.status === 'active' || c.status === 'connected' ? (
                        <IconCheck size={14} color="var(--mantine-color-green-6)" aria-label="connected" />
                      ) : (
                        <Badge size="xs" color={c.lastError ? 'red' : 'gray'}>{c.status}</Badge>
                      )}
                    </Group>
                  }
                  description={c.instanceUrl ?? undefined}
                />
              ))}
            </Stack>
          </Radio.Group>
        </Card>
      )}
      {connections.isError && <ErrorBanner messages={[describeError(connections.error)]} title="Could not load connections" />}
    </Stack>
  );
}
