-- Directives: intents to cause a side effect, run by platform executors as
-- jobs. Every state change is also emitted as a `directive.<state>` signal;
-- `last_signal_id` is the causation of the next one.
CREATE TABLE {{schema}}.directives (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- proposed, awaiting_approval, approved, executing, succeeded, failed,
  -- rejected, cancelled
  state text NOT NULL,
  idempotency_key text,
  correlation_id text NOT NULL,
  causation_id text,
  last_signal_id text,
  actor_kind text NOT NULL,
  actor_id text NOT NULL DEFAULT '',
  actor_display text NOT NULL DEFAULT '',
  -- least role that may approve or reject (from the policy at proposal)
  approver_role text NOT NULL DEFAULT 'admin',
  decided_by text,
  reason text,
  result jsonb,
  error text,
  -- one entry per failed execution attempt: {attempt, error, at}
  attempt_errors jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- A key names one live directive; a failed one frees its key for a new try.
CREATE UNIQUE INDEX directives_idempotency_key
  ON {{schema}}.directives (idempotency_key)
  WHERE idempotency_key IS NOT NULL AND state <> 'failed';
CREATE INDEX directives_state ON {{schema}}.directives (state, id);
CREATE INDEX directives_type ON {{schema}}.directives (type, id);

-- Per-type overrides of the platform's default directive policies.
CREATE TABLE {{schema}}.directive_policies (
  type text PRIMARY KEY,
  -- 'auto' or 'approval'
  mode text NOT NULL,
  approver_role text NOT NULL DEFAULT 'admin',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The allowlist of webhook.post: a URL may be posted to when it starts with
-- a destination's URL. The secret signs requests (Standard Webhooks).
CREATE TABLE {{schema}}.webhook_destinations (
  id uuid PRIMARY KEY,
  url text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
