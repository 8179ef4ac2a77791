// Server-sent events from the runtime's streams (signals, executions, chat).
// EventSource sends the session cookie and resumes with Last-Event-ID on its
// own after a drop; `close()` must be called when the page goes away.

export function subscribe(url, { onEvent, onOpen, onError, types = [] } = {}) {
  const source = new EventSource(url, { withCredentials: true });
  const handle = (type) => (ev) => {
    let data = ev.data;
    try { data = JSON.parse(ev.data); } catch { /* plain text event */ }
    onEvent?.(type, data, ev.lastEventId);
  };
  source.onmessage = handle('message');
  for (const t of types) source.addEventListener(t, handle(t));
  source.onopen = () => onOpen?.();
  source.onerror = (ev) => onError?.(ev, source.readyState);
  return { close: () => source.close(), source };
}
