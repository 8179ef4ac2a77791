-- Responses of requests sent with an `Idempotency-Key` header, so a retry
-- gets the original answer instead of a second effect. A key belongs to one
-- principal (a user or an API key): two callers' keys never collide.
-- Rows expire after 24 hours; expired ones are deleted when the same scope
-- claims a key.
CREATE TABLE {{schema}}.idempotency_keys (
  -- "user:<id>" or "key:<id>"
  scope text NOT NULL,
  key text NOT NULL,
  -- "<METHOD> <route pattern>", e.g. "POST /api/v1/signals"
  route text NOT NULL,
  -- sha256 (hex) of method, path and body
  request_hash text NOT NULL,
  -- 'in_flight' while the first request runs, then 'completed'
  state text NOT NULL DEFAULT 'in_flight'
    CHECK (state IN ('in_flight', 'completed')),
  -- Who holds an in_flight row: only that holder may complete or release
  -- it, so a runner whose claim was taken over cannot overwrite the result.
  claim_token uuid NOT NULL,
  status integer,
  content_type text,
  body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at
  ON {{schema}}.idempotency_keys (created_at);
