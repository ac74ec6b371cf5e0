-- create-databases.sql: one login role and one database per Exekra Hub service.
-- Run it once, as a superuser (or a role with CREATEROLE and CREATEDB), with
-- psql, which fills in the four passwords:
--
--   psql "host=db.hub.example user=postgres dbname=postgres" -v ON_ERROR_STOP=1 \
--        -v identity_password="$(cat identity.pw)" -v licensing_password="$(cat licensing.pw)" \
--        -v runners_password="$(cat runners.pw)" -v audit_password="$(cat audit.pw)" \
--        -f create-databases.sql
--
-- Each service owns its database and creates its own schema in it at its
-- first start (identity, licensing, runners, audit), applying its migrations
-- as that owner. No service can connect to another's database: CONNECT is
-- revoked from PUBLIC. The passwords go into the services' connection strings
-- (deploy/enterprise/env/<service>.env). e2e/enterprise_test.go runs this
-- file as written.

CREATE ROLE exekra_identity LOGIN PASSWORD :'identity_password';
CREATE DATABASE exekra_identity OWNER exekra_identity ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE exekra_identity FROM PUBLIC;

CREATE ROLE exekra_licensing LOGIN PASSWORD :'licensing_password';
CREATE DATABASE exekra_licensing OWNER exekra_licensing ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE exekra_licensing FROM PUBLIC;

CREATE ROLE exekra_runners LOGIN PASSWORD :'runners_password';
CREATE DATABASE exekra_runners OWNER exekra_runners ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE exekra_runners FROM PUBLIC;

CREATE ROLE exekra_audit LOGIN PASSWORD :'audit_password';
CREATE DATABASE exekra_audit OWNER exekra_audit ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE exekra_audit FROM PUBLIC;

-- The role the audit service works as once its migrations are applied: it
-- may only SELECT and INSERT the log (its migration grants exactly that), so
-- the log cannot be rewritten through the service. exekra_audit needs no
-- CREATEROLE: the role exists, and exekra_audit is a member of it.
CREATE ROLE exekra_audit_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
GRANT exekra_audit_writer TO exekra_audit;
