export type OrgRole = 'owner' | 'admin' | 'member' | string;

export interface Me {
  user: { id: string; email: string; name: string | null } | null;
  organizations: { id: string; name: string; slug: string; role: OrgRole }[];
  authenticatedBy: string;
}

export interface Organization {
  id: string;
  name: string;
  slug: string;
  createdAt: string;
  yourRole: OrgRole;
}

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: OrgRole;
  since: string;
}

export interface AuditEvent {
  id: number;
  at: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  actorUserId: string | null;
  actorEmail: string | null;
  actorApiKeyId: string | null;
  data: string | null;
  remoteIp: string | null;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  prefix: string;
  key: string;
  createdAt: string;
}

export interface Connection {
  id: string;
  kind: string;
  name: string;
  status: string;
  instanceUrl: string | null;
  externalAccountId: string | null;
  createdAt: string;
  lastTestedAt: string | null;
  lastError: string | null;
}

export interface ConnectionTest {
  ok: boolean;
  status: string;
  objects: number | null;
  latencyMs: number;
  error: string | null;
}

export interface SourceObject {
  name: string;
  label: string;
  table: string;
  syncable: boolean;
  writable: boolean;
}

export interface SourceField {
  name: string;
  type: string;
  pgType: string;
  column: string;
  isReference: boolean;
  createable: boolean;
  updateable: boolean;
}

export interface SourceObjectDetail {
  name: string;
  table: string;
  idField: string;
  versionField: string | null;
  fields: SourceField[];
}

export type TableState = 'pending' | 'backfilling' | 'live' | 'paused' | 'error' | string;

export interface SyncTable {
  object: string;
  table: string;
  state: TableState;
  rowsDone: number;
  rowsEstimated: number | null;
  lastSyncedAt: string | null;
  lagSeconds: number | null;
  lastError: string | null;
  fields: string[] | null;
}

export interface Sync {
  id: string;
  name: string | null;
  schema: string;
  state: string;
  connectionId: string;
  destination: { id: string; kind: 'hosted' | 'external' | string; host: string; port: number; database: string };
  pollIntervalMs: number;
  createdAt: string;
  lastError: string | null;
  tables: SyncTable[];
}

export interface TableSelection {
  object: string;
  /** null = every column. */
  fields: string[] | null;
}

export type Destination = { kind: 'hosted' } | { kind: 'external'; connectionString: string };

export interface CreateSyncRequest {
  connectionId: string;
  schema: string;
  destination: Destination;
  tables: TableSelection[];
  pollIntervalMs?: number;
  name?: string;
}

export interface ConnectionEndpoint {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | null;
  url: string;
  psql: string;
  note: string;
}

export interface ConnectionInstructions {
  proxy: ConnectionEndpoint;
  direct: ConnectionEndpoint | null;
}
