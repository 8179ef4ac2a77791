// The console's entry: Inertia reads the first page object from the
// <script data-page="app"> element the runtime renders, then every
// navigation asks the runtime for the next page object.
import './app.css';
import { createInertiaApp } from '@inertiajs/svelte';
import Layout from './Layout.svelte';

const pages = import.meta.glob('./pages/**/*.svelte');

createInertiaApp({
  resolve: async (name) => {
    const load = pages[`./pages/${name}.svelte`];
    if (!load) throw new Error(`The console has no page "${name}".`);
    return load();
  },
  // Every page but the log-in screen sits in the navigation layout.
  layout: (name) => (name.startsWith('Auth/') ? undefined : Layout),
  progress: { color: '#2563eb', delay: 150 },
});
