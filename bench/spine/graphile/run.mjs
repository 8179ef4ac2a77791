// graphile-worker baseline for bench/spine.sh: runs one worker with a no-op
// task in graphile-worker's batched configuration (the one its own
// performance page uses: local queue of 500, batched completion) and
// reports enqueue-to-start latencies per tag.
//
// Usage: node run.mjs DATABASE_URL [CONCURRENCY] [LOCAL_QUEUE_SIZE]
// Jobs carry {"tag": T, "n": N}; once N jobs of tag T have started, one
// JSON line {"tag","count","p50_ms","p99_ms","max_ms","first_start_us",
// "last_start_us"} is printed. "ready" is printed when the worker runs.
// Latency = task start (this process's clock) - the job's created_at (the
// database's now() of the enqueueing transaction), both on the host clock.

import { run, Logger } from "graphile-worker";
import pg from "pg";

const [url, concurrency = "24", queueSize = "500"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node run.mjs DATABASE_URL [CONCURRENCY] [LOCAL_QUEUE_SIZE]");
  process.exit(2);
}

// A JS Date holds milliseconds; keep the microseconds of timestamptz values
// so both systems' latencies are measured to the microsecond.
const parseTimestamptz = pg.types.getTypeParser(1184);
pg.types.setTypeParser(1184, (text) => {
  const date = parseTimestamptz(text);
  const frac = /:\d\d\.(\d+)/.exec(text);
  const micros = frac ? Number(frac[1].padEnd(6, "0").slice(0, 6)) : 0;
  date.epochMicros = Math.floor(date.getTime() / 1000) * 1e6 + micros;
  return date;
});

const nowMicros = () => (performance.timeOrigin + performance.now()) * 1000;

const tags = new Map();

function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function report(tag, s) {
  const sorted = Float64Array.from(s.lat).sort();
  const line = {
    tag,
    count: sorted.length,
    p50_ms: percentile(sorted, 0.5) / 1000,
    p99_ms: percentile(sorted, 0.99) / 1000,
    max_ms: sorted[sorted.length - 1] / 1000,
    first_start_us: Math.round(s.first),
    last_start_us: Math.round(s.last),
  };
  process.stdout.write(JSON.stringify(line) + "\n");
}

const taskList = {
  noop: async (payload, helpers) => {
    const started = nowMicros();
    const tag = payload.tag ?? "untagged";
    let s = tags.get(tag);
    if (!s) {
      s = { lat: [], first: started, last: started };
      tags.set(tag, s);
    }
    s.last = started;
    s.lat.push(started - helpers.job.created_at.epochMicros);
    if (s.lat.length === payload.n) report(tag, s);
  },
};

// Warnings and errors only.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`graphile: ${message}`);
});

const runner = await run({
  taskList,
  logger,
  preset: {
    worker: {
      connectionString: url,
      concurrentJobs: Number(concurrency),
      maxPoolSize: Number(concurrency) + 1,
      localQueue: { size: Number(queueSize) },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      crontabFile: "/dev/null",
    },
  },
});
process.stdout.write("ready\n");
const stop = () => runner.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await runner.promise;
