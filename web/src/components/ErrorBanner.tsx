import { Alert, List } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';

export function ErrorBanner({ messages, title = 'Something went wrong' }: { messages: string[]; title?: string }) {
  if (messages.length === 0) return null;
  return (
    <Alert color="red" variant="light" title={title} icon={<IconAlertTriangle size={18} aria-hidden />} role="alert">
      {messages.length === 1 ? messages[0] : (
        <List size="sm">
          {messages.map((m, i) => (
            <List.Item key={i}>{m}</List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
