-- Identity and tenancy in `public`: users, organizations (each owning a
-- schema org_<slug>), memberships, browser sessions, API keys, login
-- throttling, and per-tenant migration status.

CREATE TABLE public.users (
  id uuid PRIMARY KEY,
  email text NOT NULL,
  -- lower(email): the unique login name
  email_normalized text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  platform_admin boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

CREATE TABLE public.organizations (
  id uuid PRIMARY KEY,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9_]{0,47}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- provisioning -> active -> deleting (soft-deleted, schema kept until
  -- purge_after) -> purged (schema dropped; the row stays as a tombstone)
  state text NOT NULL
    CHECK (state IN ('provisioning', 'active', 'deleting', 'purged')),
  created_by uuid REFERENCES public.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  purge_after timestamptz
);
CREATE INDEX organizations_state ON public.organizations (state);

CREATE TABLE public.memberships (
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON public.memberships (user_id);

CREATE TABLE public.sessions (
  id uuid PRIMARY KEY,
  -- sha256 of the cookie token; the token itself is never stored
  token_hash text NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
  csrf_hash text NOT NULL,
  selected_org_id uuid REFERENCES public.organizations (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  remote_addr text
);
CREATE INDEX sessions_user ON public.sessions (user_id);

CREATE TABLE public.api_keys (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  -- the visible part of the key, e.g. "fpk_3f9a2c1b"; identifies it in lists
  prefix text NOT NULL UNIQUE,
  secret_hash text NOT NULL,
  -- after a rotation the old secret stays valid until previous_valid_until
  previous_secret_hash text,
  previous_valid_until timestamptz,
  scopes text[] NOT NULL DEFAULT '{}',
  created_by uuid REFERENCES public.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_org ON public.api_keys (org_id);

-- Failed logins per account ("account:<email>") and per address
-- ("addr:<ip>"), counted in a sliding window.
CREATE TABLE public.login_throttle (
  key text PRIMARY KEY,
  failures int NOT NULL,
  window_started_at timestamptz NOT NULL,
  locked_until timestamptz
);

-- Which tenant migrations each organization's schema has; written in the
-- same transaction as the migration itself, so each applies exactly once.
CREATE TABLE public.tenant_migrations (
  org_id uuid NOT NULL REFERENCES public.organizations (id) ON DELETE CASCADE,
  version int NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, version)
);
