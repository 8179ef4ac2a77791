// The organization's signal stream (GET /api/v1/signals/stream). Each event
// is named after its signal type, which EventSource can only listen to by
// name; so the stream is read with fetch() and parsed here. After a drop it
// reconnects with Last-Event-ID: the server resumes with no gap and no
// duplicate.

/// Opens the stream; `onSignal(signal)` for each signal, `onState(state)`
/// with 'connecting' | 'live' | 'retrying' | 'closed'. Returns `close()`.
export function tailSignals(url, { onSignal, onState } = {}) {
  let lastId = '';
  let closed = false;
  let controller = null;
  let timer = null;

  const dispatch = (block) => {
    let id = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
    }
    if (id) lastId = id;
    if (!data) return;
    try {
      onSignal?.(JSON.parse(data));
    } catch {
      /* not a signal (never sent by the server) */
    }
  };

  const connect = async () => {
    if (closed) return;
    onState?.('connecting');
    controller = new AbortController();
    const headers = { Accept: 'text/event-stream' };
    if (lastId) headers['Last-Event-ID'] = lastId;
    try {
      const res = await fetch(url, { headers, credentials: 'same-origin', signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState?.('live');
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      /* dropped, refused or aborted: retried below unless closed */
    }
    if (closed) return;
    onState?.('retrying');
    timer = setTimeout(connect, 2000);
  };

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      controller?.abort();
      onState?.('closed');
    },
  };
}
