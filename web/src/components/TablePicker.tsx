import { useMemo, useState } from 'react';
import {
  Badge, Box, Button, Checkbox, Code, Collapse, Group, Loader, Paper, Stack, Text, TextInput, UnstyledButton,
} from '@mantine/core';
import { IconChevronDown, IconChevronRight, IconSearch } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import type { SourceObject, SourceObjectDetail } from '../api/types';
import { describeError } from '../api/errors';

/** object API name → null (all columns) or the chosen field API names. */
export type Selection = Record<string, string[] | null>;

export interface TablePickerProps {
  objects: SourceObject[];
  schema: string;
  value: Selection;
  onChange: (next: Selection) => void;
  /** Loads one object's fields (for the column picker). */
  loadObject: (name: string) => Promise<SourceObjectDetail>;
  /** Query-cache scope for loaded objects (the connection id). */
  cacheKey: string;
  error?: string;
}

const matches = (q: string, ...texts: (string | null | undefined)[]) =>
  !q || texts.some((t) => t?.toLowerCase().includes(q));

export function TablePicker({ objects, schema, value, onChange, loadObject, cacheKey, error }: TablePickerProps) {
  const [search, setSearch] = useState('');
  const [expanded, setExpanded] = useState<string | null>(null);
  const q = search.trim().toLowerCase();
  const visible = useMemo(
    () => objects.filter((o) => matches(q, o.name, o.label, o.table)),
    [objects, q],
  );
  const selectable = visible.filter((o) => o.syncable);
  const selectedVisible = selectable.filter((o) => o.name in value).length;
  const selectedCount = Object.keys(value).length;
  const allChecked = selectable.length > 0 && selectedVisible === selectable.length;

  const toggleAll = () => {
    const next = { ...value };
    if (allChecked) for (const o of selectable) delete next[o.name];
    else for (const o of selectable) if (!(o.name in next)) next[o.name] = null;
    onChange(next);
  };
  const toggle = (name: string) => {
    const next = { ...value };
    if (name in next) delete next[name];
    else next[name] = null;
    onChange(next);
  };

  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end" wrap="wrap">
        <TextInput
          label="Search tables"
          placeholder="Contact, Account, opportunity…"
          leftSection={<IconSearch size={16} aria-hidden />}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          style={{ flex: '1 1 240px' }}
        />
        <Text size="sm" c="dimmed" aria-live="polite">
          {selectedCount} of {objects.filter((o) => o.syncable).length} tables selected
        </Text>
      </Group>
      {error && (
        <Text c="red" size="sm" role="alert">
          {error}
        </Text>
      )}
      <Paper withBorder radius="md">
        <Box px="md" py="xs" bg="gray.0" style={{ borderBottom: '1px solid var(--mantine-color-gray-3)' }}>
          <Checkbox
            label={q ? `Select all matching (${selectable.length})` : `Select all (${selectable.length})`}
            checked={allChecked}
            indeterminate={selectedVisible > 0 && !allChecked}
            onChange={toggleAll}
            disabled={selectable.length === 0}
          />
        </Box>
        {visible.length === 0 ? (
          <Text p="md" c="dimmed" size="sm">
            {objects.length === 0 ? 'This source has no objects.' : `No tables match “${search}”.`}
          </Text>
        ) : (
          <Stack gap={0} role="list" aria-label="Tables">
            {visible.map((o) => {
              const selected = o.name in value;
              const fields = value[o.name];
              const isOpen = expanded === o.name && selected;
              return (
                <Box key={o.name} role="listitem" px="md" py="xs" style={{ borderTop: '1px solid var(--mantine-color-gray-2)' }}>
                  <Group justify="space-between" wrap="nowrap" gap="xs">
                    <Checkbox
                      label={o.label}
                      description={o.label !== o.name ? o.name : undefined}
                      checked={selected}
                      disabled={!o.syncable}
                      onChange={() => toggle(o.name)}
                    />
                    <Group gap="xs" wrap="nowrap">
                      {!o.syncable && <Badge color="gray" variant="light">not syncable</Badge>}
                      {o.syncable && !o.writable && <Badge color="gray" variant="outline">read-only</Badge>}
                      <Code aria-label={`Postgres table for ${o.label}`} visibleFrom="xs">
                        {schema || 'salesforce'}.{o.table}
                      </Code>
                    </Group>
                  </Group>
                  <Code hiddenFrom="xs" mt={4} style={{ display: 'inline-block' }}>
                    {schema || 'salesforce'}.{o.table}
                  </Code>
                  {selected && (
                    <UnstyledButton
                      mt={4}
                      ml={32}
                      onClick={() => setExpanded(isOpen ? null : o.name)}
                      aria-expanded={isOpen}
                      aria-controls={`columns-${o.name}`}
                    >
                      <Group gap={4}>
                        {isOpen ? <IconChevronDown size={14} aria-hidden /> : <IconChevronRight size={14} aria-hidden />}
                        <Text size="xs" c="indigo.7">
                          Columns: {fields === null || fields === undefined ? 'all' : `${fields.length} selected`}
                        </Text>
                      </Group>
                    </UnstyledButton>
                  )}
                  <Collapse expanded={isOpen}>
                    {isOpen && (
                      <Box id={`columns-${o.name}`} ml={32} mt="xs">
                        <ColumnPicker
                          object={o}
                          schema={schema}
                          value={fields ?? null}
                          onChange={(f) => onChange({ ...value, [o.name]: f })}
                          loadObject={loadObject}
                          cacheKey={cacheKey}
                        />
                      </Box>
                    )}
                  </Collapse>
                </Box>
              );
            })}
          </Stack>
        )}
      </Paper>
    </Stack>
  );
}

interface ColumnPickerProps {
  object: SourceObject;
  schema: string;
  value: string[] | null;
  onChange: (fields: string[] | null) => void;
  loadObject: (name: string) => Promise<SourceObjectDetail>;
  cacheKey: string;
}

export function ColumnPicker({ object, value, onChange, loadObject, cacheKey }: ColumnPickerProps) {
  const detail = useQuery({ queryKey: ['object', cacheKey, object.name], queryFn: () => loadObject(object.name), staleTime: 300_000 });
  const [search, setSearch] = useState('');
  if (detail.isPending) return <Loader size="sm" aria-label={`Loading columns of ${object.label}`} />;
  if (detail.isError) return <Text c="red" size="sm" role="alert">Could not load columns: {describeError(detail.error)}</Text>;

  const all = detail.data.fields;
  const required = new Set([detail.data.idField, detail.data.versionField].filter(Boolean) as string[]);
  const chosen = new Set(value ?? all.map((f) => f.name));
  const q = search.trim().toLowerCase();
  const visible = all.filter((f) => matches(q, f.name, f.column, f.type));
  const optional = visible.filter((f) => !required.has(f.name));
  const allChecked = optional.every((f) => chosen.has(f.name));
  const someChecked = optional.some((f) => chosen.has(f.name));

  const commit = (next: Set<string>) => {
    for (const r of required) next.add(r);
    onChange(all.every((f) => next.has(f.name)) ? null : all.filter((f) => next.has(f.name)).map((f) => f.name));
  };
  const toggleAll = () => {
    const next = new Set(chosen);
    for (const f of optional) if (allChecked) next.delete(f.name); else next.add(f.name);
    commit(next);
  };

  return (
    <Stack gap={6}>
      <Group gap="sm" wrap="wrap" align="flex-end">
        <TextInput
          size="xs"
          label={`Search columns of ${object.label}`}
          placeholder="Email, phone…"
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          style={{ flex: '1 1 200px' }}
        />
        <Checkbox
          size="xs"
          label={`All columns of ${object.label}`}
          checked={allChecked}
          indeterminate={someChecked && !allChecked}
          onChange={toggleAll}
        />
        {value !== null && (
          <Button size="compact-xs" variant="subtle" onClick={() => onChange(null)}>
            Reset to all
          </Button>
        )}
      </Group>
      <Box style={{ maxHeight: 280, overflowY: 'auto' }}>
        <Stack gap={4} role="list" aria-label={`Columns of ${object.label}`}>
          {visible.map((f) => (
            <Group key={f.name} role="listitem" justify="space-between" wrap="nowrap" gap="xs">
              <Checkbox
                size="xs"
                label={f.name}
                checked={chosen.has(f.name)}
                disabled={required.has(f.name)}
                title={required.has(f.name) ? 'Always synced' : undefined}
                onChange={() => {
                  const next = new Set(chosen);
                  if (next.has(f.name)) next.delete(f.name); else next.add(f.name);
                  commit(next);
                }}
              />
              <Text size="xs" c="dimmed" ff="monospace" truncate>
                {f.column} <Text span c="gray.5" inherit>{f.pgType}</Text>
              </Text>
            </Group>
          ))}
          {visible.length === 0 && <Text size="xs" c="dimmed">No columns match “{search}”.</Text>}
        </Stack>
      </Box>
    </Stack>
  );
}
