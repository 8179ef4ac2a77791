-- Signals: immutable facts of this organization, and the subscriptions that
-- turn them into work. {{schema}} is the tenant's quoted schema.
--
-- `seq` is taken under the tenant's emit lock (a transaction-scoped advisory
-- lock), so ascending seq is commit order: readers that continue "after seq
-- N" (SSE resume, the pubsub hub, cursors) never skip a late commit. Gaps
-- are allowed (a deduplicated insert uses a number without a row).
CREATE TABLE {{schema}}.signals (
  id uuid PRIMARY KEY,
  seq bigint NOT NULL UNIQUE,
  type text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- 'human', 'agent', 'system' or 'integration'
  actor_kind text NOT NULL,
  actor_id text NOT NULL,
  actor_display text NOT NULL DEFAULT '',
  dedupe_key text,
  correlation_id text NOT NULL,
  causation_id text,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX signals_dedupe_key ON {{schema}}.signals (dedupe_key)
  WHERE dedupe_key IS NOT NULL;
-- Type prefix filters: `type LIKE 'forum.%'` with the C-collation operator
-- class, ordered by seq for the newest-first listing.
CREATE INDEX signals_type_seq ON {{schema}}.signals (type text_pattern_ops, seq);
CREATE INDEX signals_actor_seq ON {{schema}}.signals (actor_id, seq);
CREATE INDEX signals_correlation_seq ON {{schema}}.signals (correlation_id, seq);
CREATE INDEX signals_occurred_at ON {{schema}}.signals (occurred_at);

-- What to do when a signal arrives: pattern is an exact type, `prefix.*`
-- or `*`; the only handler kind so far proposes a directive.
CREATE TABLE {{schema}}.subscriptions (
  id uuid PRIMARY KEY,
  pattern text NOT NULL,
  handler_kind text NOT NULL DEFAULT 'directive'
    CHECK (handler_kind IN ('directive')),
  directive_type text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text
);
CREATE INDEX subscriptions_pattern ON {{schema}}.subscriptions (pattern)
  WHERE enabled;
