// Direct API calls from a page (chat, streams) outside Inertia visits. The
// session cookie authenticates them; writes carry the CSRF token the runtime
// set at log-in in the XSRF-TOKEN cookie.

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)XSRF-TOKEN=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export function csrfHeaders() {
  return { 'X-CSRF-Token': csrfToken() };
}

/// The readable message of a problem+json document (or of anything else).
export function problemMessage(problem, status) {
  if (!problem) return status ? `Request failed (HTTP ${status})` : 'Request failed';
  if (typeof problem === 'string') return problem;
  const title = problem.title ?? (status ? `HTTP ${status}` : 'Error');
  return problem.detail ? `${title}: ${problem.detail}` : title;
}

/// fetch() for JSON APIs: resolves to {ok, status, data, problem}; never throws
/// for HTTP errors (a network failure becomes status 0 with a problem).
export async function apiFetch(url, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET' && method !== 'HEAD') Object.assign(init.headers, csrfHeaders());
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    return { ok: false, status: 0, data: null, problem: { title: 'Network error', detail: String(err.message ?? err) } };
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return res.ok
    ? { ok: true, status: res.status, data, problem: null }
    : { ok: false, status: res.status, data: null, problem: data ?? { title: `HTTP ${res.status}` } };
}
