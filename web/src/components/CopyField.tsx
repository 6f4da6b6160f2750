import { ActionIcon, CopyButton, Group, Text, Tooltip, Box } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';
import type { ReactNode } from 'react';

/** A labelled, monospace value with a copy button. */
export function CopyField({ label, value, display, testId, extra }: { label: string; value: string; display?: ReactNode; testId?: string; extra?: ReactNode }) {
  return (
    <Box>
      <Text size="xs" fw={600} c="dimmed" tt="uppercase" mb={2} id={testId ? `${testId}-label` : undefined}>
        {label}
      </Text>
      <Group gap={6} wrap="nowrap" align="flex-start">
        <Text
          component="code"
          ff="monospace"
          size="sm"
          data-testid={testId}
          aria-labelledby={testId ? `${testId}-label` : undefined}
          style={{ flex: 1, minWidth: 0, wordBreak: 'break-all', background: 'var(--mantine-color-gray-0)', border: '1px solid var(--mantine-color-gray-3)', borderRadius: 6, padding: '6px 10px' }}
        >
          {display ?? value}
        </Text>
        {extra}
        <CopyButton value={value} timeout={1500}>
          {({ copied, copy }) => (
            <Tooltip label={copied ? 'Copied' : value ? `Copy ${label.toLowerCase()}` : `Reveal to copy the ${label.toLowerCase()}`} withArrow>
              <ActionIcon variant="light" color={copied ? 'teal' : 'gray'} size="lg" onClick={copy} disabled={!value} aria-label={`Copy ${label.toLowerCase()}`}>
                {copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              </ActionIcon>
            </Tooltip>
          )}
        </CopyButton>
      </Group>
    </Box>
  );
}
