-- Sync engine (issue 4): what a sync reads, how fast, and operator requests the running job picks up.

-- Fields selected per object; null selects every field the source offers (new upstream fields are added).
alter table sync_tables add column selected_fields text[];
-- Set by "resync table"; the job re-backfills the table (rows are kept and overwritten) and clears it.
alter table sync_tables add column resync_requested_at timestamptz;

-- Stable name of a sync created from configuration or the admin API (unique per org).
alter table syncs add column name text;
create unique index syncs_org_id_name_key on syncs (org_id, name) where name is not null;

-- Per-connection request budget; null takes the host's defaults (Sequin:Sync:Salesforce).
alter table source_connections add column requests_per_second double precision check (requests_per_second > 0);
alter table source_connections add column daily_share double precision check (daily_share > 0 and daily_share <= 1);
