-- Who did what inside this organization: the first tenant table. Rows are
-- appended only; {{schema}} is the tenant's quoted schema.
CREATE TABLE {{schema}}.audit_log (
  id uuid PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- 'user', 'api_key' or 'system'
  actor_kind text NOT NULL,
  actor_id text,
  action text NOT NULL,
  target text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_occurred_at ON {{schema}}.audit_log (occurred_at);
