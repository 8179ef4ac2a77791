-- pgbench baseline: 100 signal-like rows per transaction.
INSERT INTO bench_baseline.signals (id, type, payload, dedupe_key)
SELECT gen_random_uuid(), 'bench.ingest',
       jsonb_build_object('n', i, 'client', CAST(:client_id AS int), 'note', 'bench'),
       'pgb-' || gen_random_uuid()
FROM generate_series(1, 100) AS i
ON CONFLICT DO NOTHING;
