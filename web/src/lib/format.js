// Display formats shared by every page. Money is kept in micro-units of the
// price table's currency (USD) everywhere on the server.

export function money(micros) {
  const n = Number(micros ?? 0) / 1e6;
  if (n === 0) return '$0';
  if (Math.abs(n) < 0.01) return `$${n.toFixed(6).replace(/0+$/, '')}`;
  return `$${n.toFixed(n < 10 ? 4 : 2)}`;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(s)) return String(iso);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function ms(n) {
  if (n === null || n === undefined) return '—';
  const v = Number(n);
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

export function tokens(n) {
  const v = Number(n ?? 0);
  return v >= 10000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

// The last eight characters: ids are time-ordered UUIDs (v7), whose leading
// digits are shared by everything made in the same minute.
export function short(id) {
  return id ? String(id).slice(-8) : '—';
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}
