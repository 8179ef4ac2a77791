-- Agents, the organization's own skills, executions (durable records of
-- agent work, with their event log and tool calls), chat conversations and
-- the tenant's budget. {{schema}} is the tenant's quoted schema.

-- Tenant-owned skills; same columns as public.skills. A name that exists in
-- public.skills overrides the global skill for this organization.
CREATE TABLE {{schema}}.skills (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  description text NOT NULL DEFAULT '',
  kind text NOT NULL CHECK (kind IN ('prompt', 'directive')),
  input_schema jsonb NOT NULL DEFAULT '{"type":"object"}',
  output_schema jsonb NOT NULL DEFAULT '{"type":"object"}',
  config jsonb NOT NULL DEFAULT '{}',
  min_role text NOT NULL DEFAULT 'member'
    CHECK (min_role IN ('member', 'admin', 'owner')),
  -- set when a package installation brought the skill (tool permission
  -- model: the installation must have been granted required_scopes)
  installation_id uuid,
  required_scopes text[] NOT NULL DEFAULT '{}',
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {{schema}}.agents (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  purpose text NOT NULL DEFAULT '',
  provider text NOT NULL DEFAULT 'local',
  model text NOT NULL DEFAULT 'local-extractive',
  system_prompt text NOT NULL DEFAULT '',
  -- skill names the agent may call as tools
  skills text[] NOT NULL DEFAULT '{}',
  -- directive types the agent may propose
  directive_types text[] NOT NULL DEFAULT '{}',
  -- signal type patterns (exact, `prefix.*` or `*`) that start executions
  triggers text[] NOT NULL DEFAULT '{}',
  max_tokens integer NOT NULL DEFAULT 4096 CHECK (max_tokens > 0),
  max_tool_calls integer NOT NULL DEFAULT 8 CHECK (max_tool_calls >= 0),
  -- cost limit per UTC day in micro-units of the price table's currency;
  -- NULL: no limit of its own
  daily_budget_micros bigint CHECK (daily_budget_micros >= 0),
  state text NOT NULL DEFAULT 'draft'
    CHECK (state IN ('draft', 'active', 'paused', 'archived')),
  -- scopes granted to the installation that created the agent, if any
  installation_id uuid,
  granted_scopes text[] NOT NULL DEFAULT '{}',
  -- bumped by every change; agent actors reload when it moves
  version integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_state ON {{schema}}.agents (state, id);

-- Agent triggers are subscriptions with handler_kind 'agent': the emit path
-- enqueues their `agent.execute` jobs in the signal's own transaction. They
-- are kept in step with the agent (enabled only while it is active).
ALTER TABLE {{schema}}.subscriptions
  DROP CONSTRAINT IF EXISTS subscriptions_handler_kind_check;
ALTER TABLE {{schema}}.subscriptions
  ADD CONSTRAINT subscriptions_handler_kind_check
  CHECK (handler_kind IN ('directive', 'agent'));
ALTER TABLE {{schema}}.subscriptions
  ADD COLUMN agent_id uuid REFERENCES {{schema}}.agents (id) ON DELETE CASCADE;
CREATE INDEX subscriptions_agent ON {{schema}}.subscriptions (agent_id)
  WHERE agent_id IS NOT NULL;

CREATE TABLE {{schema}}.executions (
  id uuid PRIMARY KEY,
  -- NULL for a skill test run
  agent_id uuid REFERENCES {{schema}}.agents (id) ON DELETE SET NULL,
  -- the skill of a skill test run
  skill_name text,
  conversation_id uuid,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                      'cancelled', 'timed_out')),
  input jsonb NOT NULL DEFAULT '{}',
  output jsonb,
  error text,
  -- machine-readable cause of a failure: budget_exceeded, provider_error,
  -- schema_mismatch, timeout, cancelled, interrupted, ...
  error_code text,
  provider text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  tokens_in bigint NOT NULL DEFAULT 0,
  tokens_out bigint NOT NULL DEFAULT 0,
  cost_micros bigint NOT NULL DEFAULT 0,
  tool_call_count integer NOT NULL DEFAULT 0,
  trace_id text NOT NULL,
  trigger_signal_id uuid,
  -- "<agent>:<signal>" for a triggered run (one execution per agent and
  -- signal), "<agent>:<signal>:<replay correlation>" when a replay asked
  trigger_key text UNIQUE,
  replay_of uuid,
  correlation_id text NOT NULL,
  causation_id text,
  initiator_kind text NOT NULL DEFAULT 'system',
  initiator_id text NOT NULL DEFAULT '',
  initiator_display text NOT NULL DEFAULT '',
  -- organization role of the initiating user; NULL for system triggers
  initiator_role text,
  job_id bigint,
  -- runs started (a run interrupted by a crash is started again)
  attempt integer NOT NULL DEFAULT 0,
  cancel_requested boolean NOT NULL DEFAULT false,
  -- next event seq to use
  next_event_seq integer NOT NULL DEFAULT 1,
  queued_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_agent_queued ON {{schema}}.executions (agent_id, queued_at);
CREATE INDEX executions_status ON {{schema}}.executions (status, id);
CREATE INDEX executions_correlation ON {{schema}}.executions (correlation_id);
CREATE INDEX executions_conversation ON {{schema}}.executions (conversation_id)
  WHERE conversation_id IS NOT NULL;
CREATE INDEX executions_queued_at ON {{schema}}.executions (queued_at);
-- GET /api/v1/executions?trigger_signal_id=..., and joining executions to
-- their trigger signals (replay, benchmarks).
CREATE INDEX executions_trigger_signal ON {{schema}}.executions (trigger_signal_id)
  WHERE trigger_signal_id IS NOT NULL;

-- The execution's progress, in order: status changes, log lines, streamed
-- text, tool calls, usage. The SSE stream resumes after a seq.
CREATE TABLE {{schema}}.execution_events (
  execution_id uuid NOT NULL REFERENCES {{schema}}.executions (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  -- status, log, delta, tool_call, usage, output, error
  kind text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, seq)
);

CREATE TABLE {{schema}}.execution_tool_calls (
  execution_id uuid NOT NULL REFERENCES {{schema}}.executions (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  -- the provider's id of the call
  call_id text NOT NULL DEFAULT '',
  name text NOT NULL,
  arguments jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  error text,
  -- 'allowed' or 'denied' (and why)
  decision text NOT NULL CHECK (decision IN ('allowed', 'denied')),
  reason text NOT NULL DEFAULT '',
  latency_ms double precision NOT NULL DEFAULT 0,
  directive_id uuid,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, seq)
);

CREATE TABLE {{schema}}.conversations (
  id uuid PRIMARY KEY,
  agent_id uuid NOT NULL REFERENCES {{schema}}.agents (id) ON DELETE CASCADE,
  title text NOT NULL DEFAULT '',
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Messages in order. An assistant reply is written as it streams
-- (status 'streaming', content growing), so a client that reconnects
-- resumes at a character offset without losing or repeating text.
CREATE TABLE {{schema}}.messages (
  conversation_id uuid NOT NULL REFERENCES {{schema}}.conversations (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  id uuid NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('user', 'assistant')),
  content text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'complete'
    CHECK (status IN ('streaming', 'complete', 'failed', 'cancelled')),
  execution_id uuid,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, seq)
);

-- The organization's own cost limit (one row at most).
CREATE TABLE {{schema}}.budget (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- per UTC day, micro-units; NULL: no limit
  daily_budget_micros bigint CHECK (daily_budget_micros >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
