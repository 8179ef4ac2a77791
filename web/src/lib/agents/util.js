// Presentation helpers of the agents pages: status badges, durations, the
// caller's role, UTF-8 offsets of streamed chat text, and the per-field
// messages hidden in an API problem's detail ("name: must not be empty; ...").

/// Badge class of an execution status or an agent state.
export function statusClass(status) {
  switch (status) {
    case 'succeeded':
    case 'active':
    case 'complete':
      return 'ok';
    case 'running':
    case 'queued':
    case 'draft':
    case 'streaming':
      return 'warn';
    case 'failed':
    case 'timed_out':
    case 'error':
      return 'bad';
    default:
      return 'muted';
  }
}

/// Whether an execution status is final.
export function finished(status) {
  return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(status);
}

/// Milliseconds between two RFC 3339 times (the second defaults to now);
/// null when the first is missing.
export function between(from, to) {
  if (!from) return null;
  const a = new Date(from).getTime();
  const b = to ? new Date(to).getTime() : Date.now();
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.max(0, b - a);
}

/// Whether the caller may administer agents in the selected organization.
export function isAdmin(auth) {
  const role = auth?.selected_org?.role;
  return role === 'admin' || role === 'owner';
}

/// A map from agent id to agent for a `{agents: [...]}` answer (or null).
export function agentIndex(list) {
  const out = new Map();
  for (const a of list?.agents ?? []) out.set(a.id, a);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/// Length of `text` in bytes of UTF-8 (the unit of chat stream offsets).
export function utf8Length(text) {
  return encoder.encode(text ?? '').length;
}

/// `text` with its UTF-8 bytes from `offset` on replaced by `piece`.
export function spliceUtf8(text, offset, piece) {
  const bytes = encoder.encode(text ?? '');
  if (offset >= bytes.length) return (text ?? '') + piece;
  return decoder.decode(bytes.slice(0, offset)) + piece;
}

/// Field messages of a failed form: the errors object Inertia received plus
/// the `<field>: <message>` parts of errors.form (how the API words rule
/// violations), so each message can sit next to its input.
export function fieldErrors(errors, fields) {
  const out = { ...(errors ?? {}) };
  const form = typeof out.form === 'string' ? out.form : '';
  const rest = [];
  for (const part of form.split('; ')) {
    const m = part.match(/^([a-z_]+)(\[\d+\])?: (.+)$/);
    if (m && fields.includes(m[1])) {
      out[m[1]] = out[m[1]] ? `${out[m[1]]}; ${m[2] ?? ''}${m[3]}` : `${m[2] ? `${m[2]} ` : ''}${m[3]}`;
    } else if (part) {
      rest.push(part);
    }
  }
  if (form) {
    if (rest.length) out.form = rest.join('; ');
    else delete out.form;
  }
  return out;
}

/// Lines of a textarea as a list (blank lines dropped).
export function lines(text) {
  return String(text ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/// A compact one-line view of an event's data for the log.
export function summary(kind, data) {
  if (!data || typeof data !== 'object') return String(data ?? '');
  switch (kind) {
    case 'status':
      return data.attempt ? `${data.status} (attempt ${data.attempt})` : String(data.status);
    case 'log':
      return `${data.level ?? 'info'}: ${data.message ?? ''}`;
    case 'delta':
      return data.text ?? '';
    case 'tool_call':
      return `${data.name} — ${data.decision}${data.error ? `: ${data.error}` : ''}`;
    case 'usage':
      return `${data.tokens_in} tokens in, ${data.tokens_out} out`;
    case 'error':
      return `${data.code ?? 'error'}: ${data.message ?? ''}`;
    case 'output':
      return typeof data.output === 'string' ? data.output : JSON.stringify(data.output);
    default:
      return JSON.stringify(data);
  }
}

/// A short label for a uuid. Version 7 ids share their leading (time) digits
/// when made close together, so the label is taken from the random end.
export function shortId(id) {
  return id ? String(id).slice(-8) : '—';
}
