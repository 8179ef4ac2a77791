-- Nodes remember verified API keys for a few seconds (so a key's requests
-- skip the lookup). Every change that can make a remembered key unusable
-- or describe it differently — whoever makes it: any node, the CLI, psql —
-- notifies `fp_auth`, and every node forgets what it remembered. Statement
-- triggers: one notification per statement, and NOTIFY folds repeats
-- within a transaction. The minute-granular last_used_at touch changes no
-- listed column, so it notifies nobody.

CREATE FUNCTION public.fp_notify_auth() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('fp_auth', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER api_keys_auth_notify
  AFTER UPDATE OF org_id, prefix, secret_hash, previous_secret_hash,
    previous_valid_until, scopes, created_by, expires_at, revoked_at
    OR DELETE OR TRUNCATE ON public.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION public.fp_notify_auth();

CREATE TRIGGER organizations_auth_notify
  AFTER UPDATE OF slug, state OR DELETE OR TRUNCATE ON public.organizations
  FOR EACH STATEMENT EXECUTE FUNCTION public.fp_notify_auth();

CREATE TRIGGER users_auth_notify
  AFTER UPDATE OF email OR DELETE OR TRUNCATE ON public.users
  FOR EACH STATEMENT EXECUTE FUNCTION public.fp_notify_auth();
