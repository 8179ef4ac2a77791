-- pgbench baseline: one signal-like row per transaction.
INSERT INTO bench_baseline.signals (id, type, payload, dedupe_key)
VALUES (gen_random_uuid(), 'bench.ingest',
        jsonb_build_object('n', CAST(:client_id AS int), 'client', CAST(:client_id AS int), 'note', 'bench'),
        'pgb-' || gen_random_uuid())
ON CONFLICT DO NOTHING;
