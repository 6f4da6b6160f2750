-- Sync status (issue 6): the connection's daily API usage as the source last reported it (Salesforce
-- Sforce-Limit-Info), written by the sync engine; shown in the control plane's sync status.
alter table source_connections add column api_used bigint;
alter table source_connections add column api_max bigint;
alter table source_connections add column api_usage_at timestamptz;
