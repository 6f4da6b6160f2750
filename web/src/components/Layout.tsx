import { AppShell, Burger, Group, NavLink, Text, Menu, UnstyledButton, Avatar, Select, ScrollArea, Divider, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconDatabase, IconPlug, IconPlus, IconKey, IconUsers, IconHistory, IconLogout, IconChevronDown } from '@tabler/icons-react';
import { NavLink as RouterLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useEffect } from 'react';
import { useSession } from '../session';

const links = [
  { to: '/new', label: 'New sync', icon: IconPlus },
  { to: '/syncs', label: 'Syncs', icon: IconDatabase },
  { to: '/sources', label: 'Sources', icon: IconPlug },
];
const settings = [
  { to: '/settings/api-keys', label: 'API keys', icon: IconKey },
  { to: '/settings/members', label: 'Members', icon: IconUsers },
  { to: '/settings/audit-log', label: 'Audit log', icon: IconHistory },
];

export function Layout() {
  const [opened, { toggle, close }] = useDisclosure();
  const { me, org, setOrgId, signOut } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(() => close(), [location.pathname, close]);

  const renderLink = (l: (typeof links)[number]) => (
    <NavLink
      key={l.to}
      component={RouterLink}
      to={l.to}
      label={l.label}
      leftSection={<l.icon size={18} stroke={1.6} aria-hidden />}
      active={location.pathname === l.to || (l.to !== '/' && location.pathname.startsWith(l.to + '/'))}
    />
  );

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 230, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <a href="#main" className="skip-link" style={{ position: 'absolute', left: -9999 }} onFocus={(e) => (e.currentTarget.style.left = '8px')} onBlur={(e) => (e.currentTarget.style.left = '-9999px')}>
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={4} c="indigo.7" style={{ letterSpacing: -0.3 }}>
              Sequin
            </Title>
            <Text size="sm" c="dimmed" visibleFrom="xs" truncate>
              {org.name}
            </Text>
          </Group>
          <Menu position="bottom-end" withinPortal>
            <Menu.Target>
              <UnstyledButton aria-label="Account menu">
                <Group gap={6} wrap="nowrap">
                  <Avatar size="sm" color="indigo" radius="xl">
                    {(me.user?.name || me.user?.email || '?').slice(0, 1).toUpperCase()}
                  </Avatar>
                  <Text size="sm" visibleFrom="sm" truncate maw={200}>
                    {me.user?.email}
                  </Text>
                  <IconChevronDown size={14} aria-hidden />
                </Group>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>{me.user?.email}</Menu.Label>
              <Menu.Item
                leftSection={<IconLogout size={16} aria-hidden />}
                onClick={async () => {
                  await signOut();
                  navigate('/signin');
                }}
              >
                Sign out
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <ScrollArea>
          {me.organizations.length > 1 && (
            <Select
              label="Organization"
              size="xs"
              mb="sm"
              data={me.organizations.map((o) => ({ value: o.id, label: o.name }))}
              value={org.id}
              onChange={(v) => v && setOrgId(v)}
              allowDeselect={false}
            />
          )}
          {links.map(renderLink)}
          <Divider my="sm" label="Settings" labelPosition="left" />
          {settings.map(renderLink)}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
