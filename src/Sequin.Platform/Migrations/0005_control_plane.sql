-- Control plane (issue 6): pending OAuth connections. The state parameter is stored as a SHA-256 hash,
-- is single-use (used_at), expires after 10 minutes, and is bound to the user (or API key) that started it.
create table oauth_states (
    state_hash               bytea primary key,
    org_id                   uuid not null references organizations (id) on delete cascade,
    user_id                  uuid references users (id) on delete cascade,
    api_key_id               uuid references api_keys (id) on delete cascade,
    kind                     text not null check (kind in ('salesforce', 'hubspot', 'airtable', 'stripe')),
    connection_name          text not null check (length(connection_name) between 1 and 200),
    environment              text not null,
    login_url                text not null,
    redirect_uri             text not null,
    code_verifier_protected  text not null,
    return_to                text,
    created_at               timestamptz not null default now(),
    expires_at               timestamptz not null,
    used_at                  timestamptz
);
create index oauth_states_expires_at_idx on oauth_states (expires_at);
