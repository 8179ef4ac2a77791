// Layout of the actor tree picture: an indented tree (each node on its own
// row, children one step to the right under their parent, elbow edges from
// parent to child). It stays readable at any width: a phone scrolls it
// sideways only when the tree is deep.

export const ROW = 58; // vertical distance between nodes
export const BOX_H = 46; // node height
export const BOX_W = 250; // node width
export const INDENT = 26; // horizontal step per level
export const PAD = 6;

/**
 * Places the nodes of `roots` (the nested `tree` of GET /admin/actors).
 * Children of an actor id in `collapsed` are left out.
 * Returns {nodes: [{node, x, y, depth, childCount, key}], edges: [{d, key}], width, height}.
 */
export function layout(roots, collapsed = new Set()) {
  const nodes = [];
  const edges = [];
  let maxDepth = 0;

  function visit(node, depth, parent) {
    const row = nodes.length;
    const placed = {
      node,
      key: node.actor_id,
      depth,
      x: PAD + depth * INDENT,
      y: PAD + row * ROW,
      childCount: node.children?.length ?? 0,
    };
    nodes.push(placed);
    maxDepth = Math.max(maxDepth, depth);
    if (parent) {
      // Down from the parent's left edge, then right into the child.
      const sx = parent.x + INDENT / 2;
      const sy = parent.y + BOX_H;
      const ty = placed.y + BOX_H / 2;
      edges.push({ key: `${parent.key}-${placed.key}`, d: `M${sx},${sy} V${ty} H${placed.x}` });
    }
    if (!collapsed.has(node.actor_id)) {
      for (const child of node.children ?? []) visit(child, depth + 1, placed);
    }
  }

  for (const root of roots ?? []) visit(root, 0, null);
  return {
    nodes,
    edges,
    width: PAD * 2 + maxDepth * INDENT + BOX_W,
    height: PAD * 2 + Math.max(0, nodes.length - 1) * ROW + BOX_H,
  };
}

/** Number of actors under `node`, itself excluded. */
export function descendants(node) {
  let n = 0;
  for (const c of node.children ?? []) n += 1 + descendants(c);
  return n;
}

/** Name shown on a node: its domain id (shortened when it is a UUID), else its kind. */
export function nodeTitle(n) {
  const id = n.id || n.kind || String(n.actor_id);
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? `${id.slice(0, 8)}…` : id;
}

/** Badge tone of an actor state. */
export function stateTone(state) {
  const s = String(state ?? '').toLowerCase();
  if (['running', 'up', 'ok', 'ready', 'idle', 'active', 'listening'].includes(s)) return 'ok';
  if (!s) return 'muted';
  if (/restart|start|stopp|degrad|backoff|wait|connect/.test(s)) return 'warn';
  if (/fail|down|crash|error|dead/.test(s)) return 'bad';
  return 'muted';
}

/** Up-time as "3 s", "5 min", "2 h", "4 d". */
export function uptime(msValue) {
  const s = Math.floor(Number(msValue ?? 0) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}
