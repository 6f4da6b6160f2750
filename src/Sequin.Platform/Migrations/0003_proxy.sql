-- Proxy routing (issue 5): where a proxy credential's backend connection goes and the password of its backend
-- role, encrypted with ISecretProtector (purpose "backend-password"). NULL host/port → the proxy's configured
-- default destination server (Sequin:Proxy:Backend).
alter table proxy_credentials
    add column backend_host text,
    add column backend_port integer check (backend_port between 1 and 65535),
    add column backend_password_protected text;
