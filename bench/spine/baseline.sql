-- The pgbench baseline's table: what a signal row holds at its simplest
-- (uuid key, text type, jsonb payload, unique dedupe key).
DROP SCHEMA IF EXISTS bench_baseline CASCADE;
CREATE SCHEMA bench_baseline;
CREATE TABLE bench_baseline.signals (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  payload jsonb NOT NULL,
  dedupe_key text NOT NULL UNIQUE,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
