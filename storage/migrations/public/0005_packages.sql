-- The package registry (global): publishers, packages and their immutable
-- versions. A version's manifest never changes once published; yanking
-- hides it from new resolution without touching installations of it.

-- A publisher is the `publisher` part of `publisher/name`. The first
-- publish through an organization's API key (scope `publish`) claims an
-- unclaimed publisher for that organization; platform admins publish under
-- any publisher without claiming it.
CREATE TABLE public.package_publishers (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,38}$'),
  org_id uuid REFERENCES public.organizations (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.packages (
  name text PRIMARY KEY
    CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,38}/[a-z0-9][a-z0-9._-]{0,63}$'),
  publisher text NOT NULL REFERENCES public.package_publishers (name),
  -- the description of the newest published version (search and listing)
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive search over names and descriptions.
CREATE INDEX packages_search ON public.packages
  USING btree (lower(name) text_pattern_ops);

CREATE TABLE public.package_versions (
  package text NOT NULL REFERENCES public.packages (name),
  -- SemVer 2.0 text as published (build metadata included); precedence is
  -- computed in the application, never by sorting this text
  version text NOT NULL,
  -- the version without build metadata: versions differing only in build
  -- metadata have the same precedence, so only one of them may exist
  version_key text NOT NULL,
  -- the manifest in canonical form (keys sorted, no insignificant space)
  manifest jsonb NOT NULL,
  -- sha256 (hex) of the canonical manifest text: same version, same hash,
  -- or the publish is a conflict
  content_sha256 text NOT NULL,
  yanked boolean NOT NULL DEFAULT false,
  yanked_reason text NOT NULL DEFAULT '',
  published_by text NOT NULL DEFAULT '',
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (package, version),
  UNIQUE (package, version_key)
);
