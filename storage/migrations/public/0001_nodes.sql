-- Registry of running server nodes, for multi-node operation: every node
-- upserts its row at start-up and refreshes last_seen_at while it runs, so
-- peers can tell live nodes from dead ones.
CREATE TABLE public.nodes (
    id           uuid PRIMARY KEY,
    hostname     text,
    pid          integer,
    version      text,
    listen       text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- Liveness scans look for recently seen nodes.
CREATE INDEX nodes_last_seen_at_idx ON public.nodes (last_seen_at);
