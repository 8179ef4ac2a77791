-- Package installations (tenant-owned), what each one created, its
-- lifecycle history and its encrypted credentials. {{schema}} is the
-- tenant's quoted schema.

CREATE TABLE {{schema}}.installations (
  id uuid PRIMARY KEY,
  package text NOT NULL,
  version text NOT NULL,
  -- requested -> installing -> installed | failed; installed <-> disabled;
  -- installed -> upgrading -> installed (new version, or the old one after
  -- a rollback); installed | disabled | failed -> uninstalling -> uninstalled
  state text NOT NULL CHECK (state IN ('requested', 'installing', 'installed',
    'failed', 'disabled', 'upgrading', 'uninstalling', 'uninstalled')),
  -- the non-secret configuration (secret fields live in credentials)
  config jsonb NOT NULL DEFAULT '{}',
  -- scopes the organization granted to this installation
  granted_scopes text[] NOT NULL DEFAULT '{}',
  -- during an upgrade: the target version and its (validated) config
  target_version text,
  target_config jsonb,
  -- the installation that pulled this one in as a dependency; NULL when
  -- installed on request
  required_by uuid,
  -- the manifest's dependencies (package -> range) of the installed
  -- version: who depends on whom, without reading manifests
  dependencies jsonb NOT NULL DEFAULT '{}',
  -- the manifest's limits of the installed version, enforced before each
  -- run of the installation's agents: {"executions_per_hour"?,
  -- "daily_budget_micros"?, "max_agents"?}
  limits jsonb NOT NULL DEFAULT '{}',
  -- the latest error report: {"step", "message", "issues": [{path, message}],
  -- "at"}; NULL after a success
  error jsonb,
  -- the request that created it (idempotency: one live installation per
  -- package; the same (package, version) request answers with this row)
  requested_by text,
  correlation_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- At most one live installation of a package per organization.
CREATE UNIQUE INDEX installations_live_package ON {{schema}}.installations
  (package) WHERE state <> 'uninstalled';

-- The agents of an installation (its limits sum their executions).
CREATE INDEX agents_installation ON {{schema}}.agents (installation_id)
  WHERE installation_id IS NOT NULL;

-- Everything an installation created, so uninstall removes exactly that.
-- kind: skill | agent | subscription | schedule | webhook_destination
CREATE TABLE {{schema}}.installation_resources (
  installation_id uuid NOT NULL REFERENCES {{schema}}.installations (id),
  kind text NOT NULL,
  -- the created row's id (a schedule: its name in public.job_schedules)
  resource_id text NOT NULL,
  -- the name the manifest gave it
  name text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (installation_id, kind, resource_id)
);

-- Every state change, for the console's history view.
CREATE TABLE {{schema}}.installation_transitions (
  id bigserial PRIMARY KEY,
  installation_id uuid NOT NULL REFERENCES {{schema}}.installations (id),
  from_state text,
  to_state text NOT NULL,
  version text NOT NULL,
  detail text NOT NULL DEFAULT '',
  actor_id text NOT NULL DEFAULT '',
  -- the moment of the change (clock time: an install's transitions share
  -- one transaction, whose start now() would give them all)
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX installation_transitions_of ON {{schema}}.installation_transitions
  (installation_id, id);

-- Secret configuration fields, encrypted with AES-256-GCM under the
-- master key `key_id` (runtime/secret_box.hpp). Never the plaintext.
CREATE TABLE {{schema}}.credentials (
  installation_id uuid NOT NULL REFERENCES {{schema}}.installations (id),
  -- the config field, as a JSON path without "$." (e.g. "webhook_secret")
  field text NOT NULL,
  -- "fpenc1:<key id>:<base64url nonce|ciphertext|tag>"
  ciphertext text NOT NULL,
  key_id text NOT NULL,
  -- keyed hash of the plaintext shown by the API ("hmac-sha256:<16 hex>")
  fingerprint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (installation_id, field)
);
CREATE INDEX credentials_key ON {{schema}}.credentials (key_id);

-- Webhook destinations keep their signing secret encrypted as well (the
-- column holds "fpenc1:..." once written through the key ring; older
-- plaintext rows are re-encrypted by `fleetprompt keys rotate`).
ALTER TABLE {{schema}}.webhook_destinations
  ADD COLUMN installation_id uuid;
