-- The durable job queue: jobs, per-queue concurrency limits and cron
-- schedules. See storage/include/fp/storage/jobs.hpp for how the columns
-- are used.

CREATE TABLE public.jobs (
  id bigserial PRIMARY KEY,
  queue text NOT NULL DEFAULT 'default' CHECK (length(queue) BETWEEN 1 AND 100),
  kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 200),
  -- organization id, '' for platform jobs; claims are fair across tenants
  tenant text NOT NULL DEFAULT '',
  args jsonb NOT NULL DEFAULT '{}',
  -- lower runs first
  priority integer NOT NULL DEFAULT 0,
  -- "scheduled" is available with run_at in the future
  state text NOT NULL DEFAULT 'available'
    CHECK (state IN ('available', 'running', 'completed', 'discarded',
                     'cancelled')),
  -- attempts started so far (1 while the first run is running)
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
  run_at timestamptz NOT NULL DEFAULT now(),
  unique_key text,
  lease_owner text,
  lease_expires_at timestamptz,
  -- fencing token: incremented by every claim; completion and failure must
  -- present the current value, so a stale worker cannot finish a job that
  -- someone else now owns
  fence bigint NOT NULL DEFAULT 0,
  -- every attempt's error: [{"attempt", "at", "error", "owner"}, ...]
  errors jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  -- start of the latest attempt
  attempted_at timestamptz,
  finished_at timestamptz
);

-- At most one unfinished job per key.
CREATE UNIQUE INDEX jobs_unique_key ON public.jobs (unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('available', 'running');

-- Claiming: per queue, the distinct tenants (loose index scan), then each
-- tenant's jobs in priority order.
CREATE INDEX jobs_claim ON public.jobs (queue, tenant, priority, run_at, id)
  WHERE state = 'available';

-- Rescue of expired leases.
CREATE INDEX jobs_lease ON public.jobs (lease_expires_at)
  WHERE state = 'running';

-- Pruning of finished jobs.
CREATE INDEX jobs_finished ON public.jobs (finished_at)
  WHERE state IN ('completed', 'discarded', 'cancelled');

-- Listing a tenant's jobs, newest first.
CREATE INDEX jobs_tenant ON public.jobs (tenant, id);

-- Jobs claimed at once per queue and node (claimed and not yet finished).
CREATE TABLE public.job_queues (
  name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
  concurrency integer NOT NULL CHECK (concurrency > 0)
);

INSERT INTO public.job_queues (name, concurrency) VALUES
  ('default', 1000),
  ('signals', 1000),
  ('directives', 200);

-- Cron jobs: due schedules are enqueued with the unique key
-- "cron:<name>:<run time>", and next_run_at moves on in the same
-- transaction, so two nodes never enqueue the same run.
CREATE TABLE public.job_schedules (
  name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
  cron text NOT NULL,
  queue text NOT NULL DEFAULT 'default',
  kind text NOT NULL,
  args jsonb NOT NULL DEFAULT '{}',
  tenant text NOT NULL DEFAULT '',
  next_run_at timestamptz NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX job_schedules_due ON public.job_schedules (next_run_at)
  WHERE enabled;
