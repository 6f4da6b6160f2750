import { useState, type FormEvent, type ReactNode } from 'react';
import { Anchor, Button, Center, Container, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { api } from '../api/endpoints';
import { ApiError, mapApiErrors } from '../api/errors';
import { ErrorBanner } from '../components/ErrorBanner';
import { afterAuthentication, useMe } from '../session';

function AuthFrame({ title, subtitle, children }: { title: string; subtitle: ReactNode; children: ReactNode }) {
  return (
    <Center mih="100vh" bg="gray.0" px="md">
      <Container size={440} w="100%" py="xl">
        <Title order={2} ta="center" c="indigo.7" mb={4}>
          Sequin
        </Title>
        <Text ta="center" c="dimmed" size="sm" mb="lg">
          Your Salesforce data in Postgres. Read with SQL, write back through the proxy.
        </Text>
        <Paper withBorder shadow="sm" p="xl" radius="md">
          <Title order={3} mb={4}>
            {title}
          </Title>
          <Text size="sm" c="dimmed" mb="lg">
            {subtitle}
          </Text>
          {children}
        </Paper>
      </Container>
    </Center>
  );
}

const signUpFields = ['email', 'password', 'name', 'organizationName'] as const;

export function SignUpPage() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const me = useMe();
  const [form, setForm] = useState({ email: '', password: '', name: '', organizationName: '' });
  const mutation = useMutation({
    mutationFn: async () => {
      await api.signUp({ ...form, name: form.name || undefined });
      await afterAuthentication(client);
    },
    onSuccess: () => navigate('/new', { replace: true }),
  });
  if (me.data && !mutation.isPending && !mutation.isSuccess) return <Navigate to="/" replace />;
  const errors = mapApiErrors(mutation.error, signUpFields);
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    mutation.mutate();
  };
  return (
    <AuthFrame
      title="Create your account"
      subtitle={
        <>
          Already have one?{' '}
          <Anchor component={Link} to="/signin">
            Sign in
          </Anchor>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <Stack>
          <ErrorBanner messages={errors.general} title="Could not sign up" />
          <TextInput label="Work email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} error={errors.fields.email} data-autofocus autoFocus />
          <TextInput label="Your name" autoComplete="name" value={form.name} onChange={set('name')} error={errors.fields.name} />
          <TextInput label="Organization name" required value={form.organizationName} onChange={set('organizationName')} error={errors.fields.organizationName} description="Your team's workspace. You can invite others later." />
          <PasswordInput label="Password" autoComplete="new-password" required value={form.password} onChange={set('password')} error={errors.fields.password} description="At least 10 characters." />
          <Button type="submit" loading={mutation.isPending} fullWidth mt="xs">
            Create account
          </Button>
        </Stack>
      </form>
    </AuthFrame>
  );
}

export function SignInPage() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const me = useMe();
  const [form, setForm] = useState({ email: '', password: '' });
  const mutation = useMutation({
    mutationFn: async () => {
      await api.signIn(form);
      await afterAuthentication(client);
    },
    onSuccess: () => {
      const next = params.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    },
  });
  if (me.data && !mutation.isPending && !mutation.isSuccess) return <Navigate to="/" replace />;
  const errors = mapApiErrors(mutation.error, ['email', 'password']);
  let general = errors.general;
  if (mutation.error instanceof ApiError) {
    const s = mutation.error.status;
    if (s === 401) general = ['Email or password is incorrect.'];
    else if (s === 423) general = ['This account is locked after too many failed attempts. Try again later.'];
    else if (s === 429) general = ['Too many attempts. Wait a moment and try again.'];
  }
  return (
    <AuthFrame
      title="Sign in"
      subtitle={
        <>
          New to Sequin?{' '}
          <Anchor component={Link} to="/signup">
            Create an account
          </Anchor>
        </>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          mutation.mutate();
        }}
        noValidate
      >
        <Stack>
          <ErrorBanner messages={general} title="Could not sign in" />
          <TextInput label="Email" type="email" autoComplete="email" required autoFocus value={form.email} onChange={(e) => setForm((f) => ({ ...f, email: e.target.value }))} error={errors.fields.email} />
          <PasswordInput label="Password" autoComplete="current-password" required value={form.password} onChange={(e) => setForm((f) => ({ ...f, password: e.target.value }))} error={errors.fields.password} />
          <Button type="submit" loading={mutation.isPending} fullWidth mt="xs">
            Sign in
          </Button>
        </Stack>
      </form>
    </AuthFrame>
  );
}
