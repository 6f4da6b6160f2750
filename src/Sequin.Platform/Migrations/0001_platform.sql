-- Platform database, first version. Every tenant-owned row carries org_id (fail-closed tenancy,
-- DESIGN.md "Tenancy and credentials"). Names are snake_case; timestamps are timestamptz (UTC).

create table organizations (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    slug        text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at  timestamptz not null default now()
);

-- ASP.NET Core Identity (IdentityUserContext<User, Guid>), mapped to snake_case by PlatformDbContext.
create table users (
    id                      uuid primary key,
    user_name               text,
    normalized_user_name    text,
    email                   text,
    normalized_email        text,
    email_confirmed         boolean not null default false,
    password_hash           text,
    security_stamp          text,
    concurrency_stamp       text,
    phone_number            text,
    phone_number_confirmed  boolean not null default false,
    two_factor_enabled      boolean not null default false,
    lockout_end             timestamptz,
    lockout_enabled         boolean not null default true,
    access_failed_count     integer not null default 0,
    display_name            text,
    created_at              timestamptz not null default now()
);
create unique index users_normalized_user_name_key on users (normalized_user_name);
create index users_normalized_email_idx on users (normalized_email);

create table user_claims (
    id           serial primary key,
    user_id      uuid not null references users (id) on delete cascade,
    claim_type   text,
    claim_value  text
);
create index user_claims_user_id_idx on user_claims (user_id);

create table user_logins (
    login_provider         text not null,
    provider_key           text not null,
    provider_display_name  text,
    user_id                uuid not null references users (id) on delete cascade,
    primary key (login_provider, provider_key)
);
create index user_logins_user_id_idx on user_logins (user_id);

create table user_tokens (
    user_id         uuid not null references users (id) on delete cascade,
    login_provider  text not null,
    name            text not null,
    value           text,
    primary key (user_id, login_provider, name)
);

create table memberships (
    org_id      uuid not null references organizations (id) on delete cascade,
    user_id     uuid not null references users (id) on delete cascade,
    role        text not null check (role in ('owner', 'admin', 'member')),
    created_at  timestamptz not null default now(),
    primary key (org_id, user_id)
);
create index memberships_user_id_idx on memberships (user_id);

-- Invitations are not used yet; the model allows them (issue 6).
create table invitations (
    id           uuid primary key,
    org_id       uuid not null references organizations (id) on delete cascade,
    email        text not null,
    role         text not null check (role in ('owner', 'admin', 'member')),
    token_hash   bytea not null unique,
    invited_by   uuid references users (id) on delete set null,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    accepted_at  timestamptz
);
create index invitations_org_id_idx on invitations (org_id);

-- API keys: shown once, stored as a hash of the secret; prefix is public (recognisable in logs).
create table api_keys (
    id             uuid primary key,
    org_id         uuid not null references organizations (id) on delete cascade,
    name           text not null check (length(name) between 1 and 200),
    prefix         text not null unique,
    secret_hash    bytea not null,
    created_by     uuid references users (id) on delete set null,
    created_at     timestamptz not null default now(),
    last_used_at   timestamptz,
    revoked_at     timestamptz
);
create index api_keys_org_id_idx on api_keys (org_id);

-- A source account connected by OAuth or API key. Tokens are encrypted (ASP.NET Data Protection).
create table source_connections (
    id                     uuid primary key,
    org_id                 uuid not null references organizations (id) on delete cascade,
    kind                   text not null check (kind in ('salesforce', 'hubspot', 'airtable', 'stripe')),
    name                   text not null check (length(name) between 1 and 200),
    status                 text not null default 'active' check (status in ('active', 'error', 'revoked')),
    instance_url           text,
    external_account_id    text,
    credentials_protected  text,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    last_tested_at         timestamptz,
    last_error             text
);
create index source_connections_org_id_idx on source_connections (org_id);

-- Where synced tables live: the hosted database of the org, or the customer's own Postgres.
create table destinations (
    id                  uuid primary key,
    org_id              uuid not null references organizations (id) on delete cascade,
    kind                text not null check (kind in ('hosted', 'external')),
    host                text not null,
    port                integer not null check (port between 1 and 65535),
    database_name       text not null,
    username            text not null,
    password_protected  text,
    ssl_mode            text not null default 'prefer',
    created_at          timestamptz not null default now()
);
create index destinations_org_id_idx on destinations (org_id);

create table syncs (
    id                uuid primary key,
    org_id            uuid not null references organizations (id) on delete cascade,
    connection_id     uuid not null references source_connections (id) on delete restrict,
    destination_id    uuid not null references destinations (id) on delete restrict,
    schema_name       text not null check (schema_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
    state             text not null default 'backfilling'
                      check (state in ('backfilling', 'live', 'paused', 'error', 'deleting')),
    poll_interval_ms  integer not null default 1000 check (poll_interval_ms >= 100),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    last_error        text,
    unique (destination_id, schema_name)
);
create index syncs_org_id_idx on syncs (org_id);
create index syncs_connection_id_idx on syncs (connection_id);

-- One selected sObject (or HubSpot object, Airtable table, Stripe resource) of a sync.
create table sync_tables (
    id              uuid primary key,
    sync_id         uuid not null references syncs (id) on delete cascade,
    org_id          uuid not null references organizations (id) on delete cascade,
    object_name     text not null,
    table_name      text not null check (table_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
    state           text not null default 'pending'
                    check (state in ('pending', 'backfilling', 'live', 'paused', 'error')),
    rows_done       bigint not null default 0,
    rows_estimated  bigint,
    last_synced_at  timestamptz,
    last_error      text,
    unique (sync_id, object_name),
    unique (sync_id, table_name)
);
create index sync_tables_org_id_idx on sync_tables (org_id);

create table sync_columns (
    sync_table_id  uuid not null references sync_tables (id) on delete cascade,
    field_name     text not null,
    column_name    text not null check (column_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
    source_type    text not null,
    pg_type        text not null,
    primary key (sync_table_id, field_name),
    unique (sync_table_id, column_name)
);

-- Proxy credentials: SCRAM-SHA-256 verifiers only (RFC 5802/7677), never passwords.
create table proxy_credentials (
    id                uuid primary key,
    org_id            uuid not null references organizations (id) on delete cascade,
    sync_id           uuid references syncs (id) on delete cascade,
    username          text not null unique,
    scram_salt        bytea not null,
    scram_iterations  integer not null check (scram_iterations >= 4096),
    stored_key        bytea not null,
    server_key        bytea not null,
    database_name     text not null,
    backend_role      text not null,
    created_at        timestamptz not null default now(),
    rotated_at        timestamptz,
    revoked_at        timestamptz
);
create index proxy_credentials_org_id_idx on proxy_credentials (org_id);

create table audit_events (
    id                bigserial primary key,
    org_id            uuid not null references organizations (id) on delete cascade,
    actor_user_id     uuid references users (id) on delete set null,
    actor_api_key_id  uuid references api_keys (id) on delete set null,
    action            text not null,
    target_type       text,
    target_id         text,
    data              jsonb,
    remote_ip         text,
    at                timestamptz not null default now()
);
create index audit_events_org_id_at_idx on audit_events (org_id, at desc);

-- ASP.NET Data Protection key ring (an IXmlRepository over this table).
create table data_protection_keys (
    id             serial primary key,
    friendly_name  text not null unique,
    xml            text not null,
    created_at     timestamptz not null default now()
);
