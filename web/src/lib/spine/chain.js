// A correlation chain: every signal, execution and directive that shares one
// correlation id, in time order, each linked to what caused it. Assembled
// from the list endpoints filtered by correlation_id.

import { apiFetch } from '../http.js';

const enc = encodeURIComponent;

/// {items, problem}: items are {kind, id, at, title, state, causedBy, href, record}.
export async function loadChain(correlationId) {
  const q = `correlation_id=${enc(correlationId)}`;
  const [signals, executions, directives] = await Promise.all([
    apiFetch(`/api/v1/signals?${q}&limit=500`),
    apiFetch(`/api/v1/executions?${q}&limit=100`),
    apiFetch(`/api/v1/directives?${q}&limit=200`),
  ]);
  const failed = [signals, executions, directives].find((r) => !r.ok);
  if (failed) return { items: [], problem: failed.problem, status: failed.status };
  const items = [];
  for (const s of signals.data.signals ?? []) {
    items.push({
      kind: 'signal', id: s.id, at: s.recorded_at ?? s.occurred_at, order: s.seq,
      title: s.type, state: null, causedBy: s.causation_id,
      href: `/signals/${s.id}`, record: s,
      directiveId: s.type.startsWith('directive.') ? s.payload?.directive_id ?? null : null,
    });
  }
  for (const e of executions.data.executions ?? []) {
    items.push({
      kind: 'execution', id: e.id, at: e.queued_at, order: 0,
      title: e.skill_name ? `execution of ${e.skill_name}` : 'execution',
      state: e.status, causedBy: e.causation_id ?? e.trigger_signal_id,
      href: `/executions/${e.id}`, record: e,
    });
  }
  for (const d of directives.data.directives ?? []) {
    items.push({
      kind: 'directive', id: d.id, at: d.created_at, order: 0,
      title: d.type, state: d.state, causedBy: d.causation_id,
      href: `/directives/${d.id}`, record: d,
    });
  }
  items.sort((a, b) => {
    const t = new Date(a.at).getTime() - new Date(b.at).getTime();
    if (t !== 0 && !Number.isNaN(t)) return t;
    return (a.order ?? 0) - (b.order ?? 0);
  });
  return { items, problem: null, status: 200 };
}

/// Badge class of a directive, job or execution state.
export function stateClass(state) {
  switch (state) {
    case 'succeeded': case 'completed': case 'approved':
      return 'ok';
    case 'awaiting_approval': case 'proposed': case 'executing': case 'running':
    case 'queued': case 'available': case 'scheduled':
      return 'warn';
    case 'failed': case 'rejected': case 'discarded': case 'timed_out':
      return 'bad';
    default:
      return 'muted';
  }
}

/// "awaiting_approval" -> "awaiting approval".
export function label(state) {
  return state ? String(state).replaceAll('_', ' ') : '—';
}

const roles = ['member', 'admin', 'owner'];

/// Whether an organization role reaches `least` (member < admin < owner).
export function roleAtLeast(role, least) {
  return roles.indexOf(role) >= roles.indexOf(least ?? 'admin') && roles.indexOf(role) >= 0;
}

/// An RFC 3339 UTC time from a datetime-local input value ("" stays "").
export function toRfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/// A datetime-local input value from an RFC 3339 time ("" stays "").
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/// A short form of an id that tells ids apart: UUIDv7 ids share their
/// leading (time) digits, so the last eight characters are shown.
export function idTail(id) {
  if (!id) return '—';
  const s = String(id);
  return s.length > 12 ? `…${s.slice(-8)}` : s;
}
