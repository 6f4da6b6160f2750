-- Control plane (issue 6): provisioned credentials of a sync.
-- The proxy authenticates with the SCRAM verifier only; password_protected is an encrypted copy
-- (ISecretProtector, purpose "proxy-password") so the owner can reveal it in the connection instructions
-- (ADR 0010). The read role gives direct, read-only access to the sync's schema.
alter table proxy_credentials add column password_protected text;
alter table syncs add column read_role text;
alter table syncs add column read_password_protected text;
