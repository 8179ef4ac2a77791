// Small helpers of the package and installation pages.

/// Whether the caller may change installations (the API checks it again).
export function isAdmin(auth) {
  const role = auth?.selected_org?.role;
  return role === 'admin' || role === 'owner';
}

/// The query parameters of an Inertia page URL.
export function queryOf(url) {
  return new URLSearchParams(String(url ?? '').split('?')[1] ?? '');
}

/// "/packages/<publisher>/<name>" of a package name.
export function packageHref(name, version) {
  const [publisher, pkg] = String(name).split('/');
  const base = `/packages/${encodeURIComponent(publisher)}/${encodeURIComponent(pkg ?? '')}`;
  return version ? `${base}?version=${encodeURIComponent(version)}` : base;
}

/// States in which the installer is still working on an installation.
export const busyStates = ['requested', 'installing', 'upgrading', 'uninstalling'];

/// The capability kinds of a manifest with at least one entry, with labels.
export function capabilityGroups(capabilities) {
  const labels = {
    agents: 'Agents', skills: 'Skills', subscriptions: 'Subscriptions', schedules: 'Schedules',
    webhook_destinations: 'Webhook destinations', directive_types: 'Directive types', tools: 'Tools',
  };
  return Object.entries(capabilities ?? {})
    .filter(([, list]) => Array.isArray(list) && list.length)
    .map(([kind, list]) => ({ kind, label: labels[kind] ?? kind, list }));
}
