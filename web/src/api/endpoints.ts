import { http } from './client';
import type {
  ApiKey, AuditEvent, Connection, ConnectionInstructions, ConnectionTest, CreatedApiKey, CreateSyncRequest, Me, Member,
  Organization, SourceObject, SourceObjectDetail, Sync, TableSelection,
} from './types';

const org = (orgId: string) => `/orgs/${encodeURIComponent(orgId)}`;

export const api = {
  signUp: (body: { email: string; password: string; name?: string; organizationName: string }) => http.post<void>('/auth/signup', body),
  signIn: (body: { email: string; password: string }) => http.post<void>('/auth/signin', body),
  signOut: () => http.post<void>('/auth/signout'),
  me: () => http.get<Me>('/me'),

  organization: (orgId: string) => http.get<Organization>(`${org(orgId)}/`),
  members: (orgId: string) => http.get<Member[]>(`${org(orgId)}/members`),
  auditLog: (orgId: string, before?: number, limit = 50) =>
    http.get<AuditEvent[]>(`${org(orgId)}/audit-log?limit=${limit}${before ? `&before=${before}` : ''}`),
  apiKeys: (orgId: string) => http.get<ApiKey[]>(`${org(orgId)}/api-keys`),
  createApiKey: (orgId: string, name: string) => http.post<CreatedApiKey>(`${org(orgId)}/api-keys`, { name }),
  revokeApiKey: (orgId: string, id: string) => http.del<void>(`${org(orgId)}/api-keys/${id}`),

  startOAuth: (orgId: string, body: { kind: string; name?: string; environment?: string; returnTo: string }) =>
    http.post<{ authorizeUrl: string }>(`${org(orgId)}/connections/oauth/start`, body),
  connections: (orgId: string) => http.get<Connection[]>(`${org(orgId)}/connections`),
  connection: (orgId: string, id: string) => http.get<Connection>(`${org(orgId)}/connections/${id}`),
  deleteConnection: (orgId: string, id: string) => http.del<void>(`${org(orgId)}/connections/${id}`),
  testConnection: (orgId: string, id: string) => http.post<ConnectionTest>(`${org(orgId)}/connections/${id}/test`),
  objects: (orgId: string, id: string) => http.get<SourceObject[]>(`${org(orgId)}/connections/${id}/objects`),
  object: (orgId: string, id: string, name: string) =>
    http.get<SourceObjectDetail>(`${org(orgId)}/connections/${id}/objects/${encodeURIComponent(name)}`),

  testDestination: (orgId: string, connectionString: string) =>
    http.post<{ ok: boolean; error: string | null }>(`${org(orgId)}/destinations/test`, { connectionString }),

  syncs: (orgId: string) => http.get<Sync[]>(`${org(orgId)}/syncs`),
  sync: (orgId: string, id: string) => http.get<Sync>(`${org(orgId)}/syncs/${id}`),
  createSync: (orgId: string, body: CreateSyncRequest) => http.post<Sync>(`${org(orgId)}/syncs`, body),
  updateSync: (orgId: string, id: string, body: { tables?: TableSelection[]; pollIntervalMs?: number }) =>
    http.patch<Sync>(`${org(orgId)}/syncs/${id}`, body),
  pauseSync: (orgId: string, id: string) => http.post<Sync>(`${org(orgId)}/syncs/${id}/pause`),
  resumeSync: (orgId: string, id: string) => http.post<Sync>(`${org(orgId)}/syncs/${id}/resume`),
  resyncTable: (orgId: string, id: string, table: string) =>
    http.post<void>(`${org(orgId)}/syncs/${id}/tables/${encodeURIComponent(table)}/resync`),
  deleteSync: (orgId: string, id: string) => http.del<void>(`${org(orgId)}/syncs/${id}`),
  instructions: (orgId: string, id: string, reveal: boolean) =>
    http.get<ConnectionInstructions>(`${org(orgId)}/syncs/${id}/connection-instructions?reveal=${reveal}`),
  rotateCredentials: (orgId: string, id: string, which: 'proxy' | 'direct') =>
    http.post<unknown>(`${org(orgId)}/syncs/${id}/credentials/rotate`, { which }),
};
