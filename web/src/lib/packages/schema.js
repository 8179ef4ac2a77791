// Turns a package's config_schema (the platform's JSON Schema subset) into
// form fields and back: the form holds text for every input, the request
// gets typed JSON. No rule of the schema is checked here — the API checks
// the request and answers with the path of every problem, which
// `fieldErrors` files under the field it names.

/// The kind of input a property schema gets.
export function kindOf(schema) {
  if (!schema || typeof schema !== 'object') return 'json';
  if (Array.isArray(schema.enum) && schema.enum.length) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object' && schema.properties) return 'object';
  if (type === 'boolean') return 'boolean';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'string') return 'string';
  if (type === 'array') {
    const item = schema.items?.type;
    if (item === 'string' || item === 'integer' || item === 'number') return 'list';
  }
  return 'json';
}

/// The properties of an object schema in declaration order, each
/// {key, path, schema, required, secret}.
export function fieldsOf(schema, prefix = '') {
  const props = schema?.properties ?? {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  // Canonical manifests sort members by name: required fields go first,
  // each group in that order.
  const keys = Object.keys(props);
  const ordered = [...keys.filter((k) => required.has(k)), ...keys.filter((k) => !required.has(k))];
  return ordered.map((key) => ({
    key,
    path: prefix ? `${prefix}.${key}` : key,
    schema: props[key] ?? {},
    required: required.has(key),
    secret: props[key]?.secret === true,
  }));
}

/// The paths of every secret property (nested ones dotted).
export function secretPaths(schema, prefix = '') {
  const out = [];
  for (const f of fieldsOf(schema, prefix)) {
    if (f.secret) out.push(f.path);
    else if (kindOf(f.schema) === 'object') out.push(...secretPaths(f.schema, f.path));
  }
  return out;
}

function textOf(kind, value) {
  if (value === undefined || value === null) return kind === 'boolean' ? false : '';
  switch (kind) {
    case 'boolean': return value === true;
    case 'list': return Array.isArray(value) ? value.join('\n') : String(value);
    case 'json': return JSON.stringify(value, null, 2);
    case 'enum': return JSON.stringify(value);
    default: return String(value);
  }
}

/// The form's values: `current` (an installation's config) where present,
/// else the schema's default, else empty. Secret fields always start empty:
/// they are write-only and never prefilled.
export function initialValues(schema, current = {}) {
  const out = {};
  for (const f of fieldsOf(schema)) {
    const kind = kindOf(f.schema);
    const have = current && Object.hasOwn(current, f.key) ? current[f.key] : undefined;
    if (f.secret) out[f.key] = '';
    else if (kind === 'object') out[f.key] = initialValues(f.schema, have ?? f.schema.default ?? {});
    else out[f.key] = textOf(kind, have !== undefined ? have : f.schema.default);
  }
  return out;
}

function typed(kind, schema, text) {
  switch (kind) {
    case 'boolean': return text === true;
    case 'number': {
      const n = Number(text);
      // A text that is no number goes as it is: the API names the problem.
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'enum': {
      try { return JSON.parse(text); } catch { return text; }
    }
    case 'list': {
      const items = String(text).split(/\r?\n|,/).map((s) => s.trim()).filter(Boolean);
      const t = schema.items?.type;
      if (t === 'integer' || t === 'number') return items.map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));
      return items;
    }
    case 'json': {
      try { return JSON.parse(text); } catch { return text; }
    }
    default: return text;
  }
}

/// The request members of the form's values: `config` (typed values;
/// empty fields left out so the schema's defaults apply and a missing
/// required field is reported by the API) and `credentials` (the secret
/// fields that were filled in, by dotted path).
export function buildRequest(schema, values) {
  const credentials = {};
  const walk = (s, v, prefix) => {
    const config = {};
    for (const f of fieldsOf(s, prefix)) {
      const kind = kindOf(f.schema);
      const text = v?.[f.key];
      if (f.secret) {
        if (typeof text === 'string' && text !== '') credentials[f.path] = text;
        continue;
      }
      if (kind === 'object') {
        const inner = walk(f.schema, text ?? {}, f.path);
        if (Object.keys(inner).length || f.required) config[f.key] = inner;
        continue;
      }
      if (kind !== 'boolean' && (text === undefined || text === null || String(text).trim() === '')) continue;
      config[f.key] = typed(kind, f.schema, text);
    }
    return config;
  };
  const config = walk(schema, values, '');
  return { config, credentials };
}

/// A problem's error path as a form key: "$.config.smtp.host" and
/// "$.credentials.token" become "config.smtp.host" and "config.token",
/// "$.permissions[2]" becomes "permissions".
export function normalizePath(path) {
  let p = String(path ?? '').replace(/^\$\.?/, '');
  if (p.startsWith('credentials.')) p = `config.${p.slice('credentials.'.length)}`;
  if (p.startsWith('permissions[')) p = 'permissions';
  return p;
}

/// The server's validation errors ({path: message}) split into those a
/// field of `schema` shows (`byField`, keyed "config.<path>") and the rest
/// (`other`: [{path, message}], `form` excluded).
export function fieldErrors(errors, schema) {
  const byField = {};
  const other = [];
  const known = new Set();
  const collect = (s, prefix) => {
    for (const f of fieldsOf(s, prefix)) {
      known.add(`config.${f.path}`);
      if (kindOf(f.schema) === 'object') collect(f.schema, f.path);
    }
  };
  collect(schema, '');
  for (const [path, message] of Object.entries(errors ?? {})) {
    if (path === 'form') continue;
    const key = normalizePath(path);
    // Problems inside a list or a JSON value belong to the field holding it.
    let field = key;
    while (field && !known.has(field) && field !== 'permissions' && field !== 'version') {
      const cut = Math.max(field.lastIndexOf('.'), field.lastIndexOf('['));
      if (cut <= 'config'.length) { field = ''; break; }
      field = field.slice(0, cut);
    }
    if (field) {
      const where = field === key ? '' : `${key.slice(field.length).replace(/^\./, '')}: `;
      byField[field] = byField[field] ? `${byField[field]}; ${where}${message}` : `${where}${message}`;
    } else {
      other.push({ path: key || path, message });
    }
  }
  return { byField, other };
}

/// An id attribute for a config path.
export function inputId(path) {
  return `cfg-${path.replace(/[^a-zA-Z0-9_-]+/g, '-')}`;
}

/// A field's label: its title, else its name with separators as spaces.
export function labelOf(field) {
  if (field.schema?.title) return field.schema.title;
  const words = field.key.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
