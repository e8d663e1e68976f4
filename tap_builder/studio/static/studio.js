// tap-builder studio: the page. Forms are generated from the spec's JSON Schema
// (GET /api/schema); every change is sent to the server as an operation on the
// spec text, which validates it with the CLI's own code and sends back the text,
// the data and the problems. No builder logic lives here. Every string from a
// spec or an API is put in the page with textContent, never as markup.

const TOKEN = document.querySelector('meta[name="studio-token"]').content;
const S = { schema: null, spec: null, config: {}, files: [], screen: "start",
  stream: 0, authTypes: [], job: null, test: null, infer: null, publish: null };

// ------------------------------------------------------------------ helpers --

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(method, url, body) {
  const init = { method, headers: { "x-studio-token": TOKEN } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text; t.classList.add("show");
  setTimeout(() => t.classList.remove("show"), 2500);
}

// The field path as the CLI prints it: streams[0].pagination.limit
function fmt(path) {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : (out ? "." : "") + p;
  return out;
}

function get(obj, path) {
  let node = obj;
  for (const p of path) { if (node === null || typeof node !== "object") return undefined; node = node[p]; }
  return node;
}

function titleOf(key) { return key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()); }

// ------------------------------------------------------- schema resolution --

function resolve(node) {
  let n = node || {};
  for (let i = 0; i < 8; i++) {
    if (n.$ref) n = { ...S.schema.definitions[n.$ref.split("/").pop()], ...withoutKeys(n, ["$ref"]) };
    else if (n.allOf && n.allOf.length === 1) n = { ...withoutKeys(n, ["allOf"]), ...resolve(n.allOf[0]) };
    else break;
  }
  return n;
}
function withoutKeys(o, keys) { const c = { ...o }; for (const k of keys) delete c[k]; return c; }

// What widget a schema node needs: {kind, node, nullable, variants}
function shape(raw) {
  let node = resolve(raw);
  let nullable = false;
  const meta = { title: node.title, description: node.description, default: node.default };
  if (node.anyOf) {
    const opts = node.anyOf.map(resolve);
    nullable = opts.some((o) => o.type === "null");
    const union = opts.find((o) => o.discriminator);
    if (union) return { kind: "union", node: union, nullable, meta };
    const choices = opts.find((o) => o.enum);
    if (choices) return { kind: "enum", node: choices, nullable, meta };
    const scalarTypes = opts.filter((o) => ["string", "integer", "number", "boolean"].includes(o.type));
    const main = opts.find((o) => o.type !== "null") || {};
    if (scalarTypes.length > 1 && !opts.some((o) => o.type === "array" || o.type === "object")) {
      return { kind: "scalar", node: main, nullable, meta };
    }
    node = { ...main };
  }
  meta.title = meta.title || node.title; meta.description = meta.description || node.description;
  if (node.enum) return { kind: "enum", node, nullable, meta };
  if (node.type === "boolean") return { kind: "boolean", node, nullable, meta };
  if (node.type === "integer" || node.type === "number") return { kind: "number", node, nullable, meta };
  if (node.type === "string") return { kind: "string", node, nullable, meta };
  if (node.type === "array") {
    const items = resolve(node.items || {});
    return { kind: items.type === "object" || items.properties ? "objects" : "strings", node, items, nullable, meta };
  }
  if (node.type === "object" && node.properties) return { kind: "object", node, nullable, meta };
  if (node.type === "object") return { kind: "dict", node, nullable, meta };
  return { kind: "json", node, nullable, meta };
}

// --------------------------------------------------------------- editing --

let pending = Promise.resolve();
function send(ops) {
  pending = pending.then(() => api("POST", "/api/ops", { ops }).then(applySpec).catch((e) => toast(e.message)));
  return pending;
}
function setValue(path, value) { return send([{ op: "set", path, value }]); }
function remove(path) { return send([{ op: "delete", path }]); }

function applySpec(spec, { keepSource = false } = {}) {
  S.spec = spec;
  if (!keepSource) setSource(spec.text);
  render();
  // How many answers the page has applied (tests wait on it).
  document.body.dataset.version = String(Number(document.body.dataset.version || 0) + 1);
}

// Inputs send after a pause in typing; the screen is re-rendered from the
// server's answer, keeping the focused input and its caret.
const timers = new Map();
function debounced(key, fn, ms = 450) {
  clearTimeout(timers.get(key));
  timers.set(key, setTimeout(fn, ms));
}

function parseScalar(text, sh) {
  if (text === "") return undefined;
  const types = (sh.node.anyOf || [sh.node]).map((o) => o.type);
  if (sh.kind === "number") return sh.node.type === "integer" ? parseInt(text, 10) : Number(text);
  if (sh.kind === "scalar" || types.length > 1) {
    if (/^-?\d+$/.test(text)) return parseInt(text, 10);
    if (/^-?\d*\.\d+$/.test(text)) return Number(text);
    if (text === "true" || text === "false") return text === "true";
    if (text === "null") return null;
  }
  return text;
}

function shownScalar(v) { return v === undefined ? "" : (typeof v === "string" ? v : JSON.stringify(v)); }

// ---------------------------------------------------------------- widgets --

function field(path, raw, { label, required, widget } = {}) {
  const sh = shape(raw);
  const key = path[path.length - 1];
  const name = label || sh.meta.title || titleOf(String(key));
  const value = get(S.spec.data, path);
  const id = "f-" + fmt(path);
  const body = (widget || widgets[sh.kind] || widgets.json)(path, sh, value, id, required);
  return h("div", { class: "field", "data-path": fmt(path) },
    sh.kind === "object" || sh.kind === "objects" || sh.kind === "union" ? null : h("label", { for: id }, name + (required ? " *" : "")),
    body,
    sh.meta.description && !["object", "objects", "union"].includes(sh.kind) ? h("div", { class: "desc" }, sh.meta.description) : null);
}

function textInput(path, sh, value, id, required, type = "text") {
  return h("input", { type, id, "data-key": fmt(path), value: shownScalar(value),
    placeholder: sh.meta.default !== undefined && sh.meta.default !== null ? shownScalar(sh.meta.default) : "",
    oninput: (e) => debounced(fmt(path), () => commitScalar(path, sh, e.target.value, required)) });
}

// Text whose line breaks matter (a GraphQL query): a textarea, sent as typed.
function multilineInput(path, sh, value, id, required) {
  return h("textarea", { id, "data-key": fmt(path), rows: 8, value: value === undefined ? "" : String(value),
    oninput: (e) => debounced(fmt(path), () => (e.target.value === "" && !required ? remove(path) : setValue(path, e.target.value))) });
}

function commitScalar(path, sh, text, required) {
  const v = parseScalar(text, sh);
  if (v === undefined && !required) return remove(path);
  return setValue(path, v === undefined ? "" : v);
}

const widgets = {
  string: (p, sh, v, id, req) => (sh.node["x-multiline"] ? multilineInput(p, sh, v, id, req) : textInput(p, sh, v, id, req)),
  scalar: (p, sh, v, id, req) => textInput(p, sh, v, id, req),
  number: (p, sh, v, id, req) => textInput(p, sh, v, id, req, "number"),
  enum: (p, sh, v, id, req) => h("select", { id, "data-key": fmt(p),
      onchange: (e) => (e.target.value === "" ? remove(p) : setValue(p, e.target.value)) },
    req ? null : h("option", { value: "" }, sh.meta.default !== undefined && sh.meta.default !== null ? `(default: ${sh.meta.default})` : "(none)"),
    sh.node.enum.map((o) => h("option", { value: o, selected: v === o }, o))),
  boolean: (p, sh, v, id) => h("input", { type: "checkbox", id, "data-key": fmt(p), checked: v === undefined ? sh.meta.default === true : v,
    onchange: (e) => (e.target.checked === (sh.meta.default === true) ? remove(p) : setValue(p, e.target.checked)) }),
  strings: (p, sh, v, id) => h("input", { type: "text", id, "data-key": fmt(p), placeholder: "comma separated",
    value: Array.isArray(v) ? v.join(", ") : shownScalar(v),
    oninput: (e) => debounced(fmt(p), () => {
      const items = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
      return items.length ? setValue(p, items) : remove(p);
    }) }),
  json: (p, sh, v, id) => h("textarea", { id, "data-key": fmt(p), value: v === undefined ? "" : JSON.stringify(v, null, 2),
    onchange: (e) => { if (e.target.value.trim() === "") return remove(p);
      try { return setValue(p, JSON.parse(e.target.value)); } catch (err) { toast("not JSON: " + err.message); } } }),
  dict: dictWidget,
  object: objectWidget,
  objects: objectsWidget,
  union: unionWidget,
};

function dictWidget(path, sh, value) {
  const entries = Object.entries(value && typeof value === "object" ? value : {});
  const valueShape = { kind: "scalar", node: sh.node.additionalProperties || {}, meta: {} };
  const rows = entries.map(([k, v]) => h("div", { class: "row" },
    h("input", { type: "text", value: k, "data-key": fmt([...path, k]) + "#key", "aria-label": "name",
      onchange: (e) => renameKey(path, k, e.target.value) }),
    h("input", { type: "text", value: shownScalar(v), "data-key": fmt([...path, k]), "aria-label": `value of ${k}`,
      oninput: (e) => debounced(fmt([...path, k]), () => setValue([...path, k], parseScalar(e.target.value, valueShape) ?? "")) }),
    h("button", { type: "button", class: "small", title: "remove", onclick: () => remove([...path, k]) }, "✕")));
  const newKey = h("input", { type: "text", placeholder: "name", "aria-label": `new ${fmt(path)} name` });
  const newVal = h("input", { type: "text", placeholder: "value", "aria-label": `new ${fmt(path)} value` });
  return h("div", { class: "dict" }, rows, h("div", { class: "row" }, newKey, newVal,
    h("button", { type: "button", class: "small", onclick: () => newKey.value && setValue([...path, newKey.value], parseScalar(newVal.value, valueShape) ?? "") }, "Add")));
}

function renameKey(path, oldKey, newKey) {
  const obj = { ...get(S.spec.data, path) };
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k === oldKey ? newKey : k] = v;
  return setValue(path, out);
}

function objectWidget(path, sh, value, id, required, { skip = [] } = {}) {
  const props = sh.node.properties;
  const req = new Set(sh.node.required || []);
  const legend = sh.meta.title || titleOf(String(path[path.length - 1]));
  if (value === undefined || value === null) {
    return h("fieldset", {}, h("legend", {}, legend), sh.meta.description ? h("div", { class: "desc" }, sh.meta.description) : null,
      h("button", { type: "button", "data-key": fmt(path) + "#enable", onclick: () => setValue(path, {}) }, `Add ${legend.toLowerCase()}`));
  }
  return h("fieldset", {}, h("legend", {}, legend),
    sh.meta.description ? h("div", { class: "desc" }, sh.meta.description) : null,
    Object.entries(props).filter(([k]) => !skip.includes(k)).map(([k, sub]) => field([...path, k], sub, { required: req.has(k) })),
    sh.nullable ? h("button", { type: "button", class: "small", onclick: () => remove(path) }, `Remove ${legend.toLowerCase()}`) : null);
}

function objectsWidget(path, sh, value) {
  const list = Array.isArray(value) ? value : [];
  const legend = sh.meta.title || titleOf(String(path[path.length - 1]));
  const itemShape = { kind: "object", node: sh.items, meta: { title: sh.items.title }, nullable: false };
  return h("fieldset", {}, h("legend", {}, legend), sh.meta.description ? h("div", { class: "desc" }, sh.meta.description) : null,
    list.map((item, i) => h("div", { class: "item", "data-path": fmt([...path, i]) },
      objectWidget([...path, i], { ...itemShape, meta: { title: `${itemShape.meta.title || "Item"} ${i + 1}` } }, item),
      h("div", { class: "toolbar" },
        h("button", { type: "button", class: "small", onclick: () => send([{ op: "move", path, from: i, to: i - 1 }]), disabled: i === 0 }, "↑"),
        h("button", { type: "button", class: "small", onclick: () => send([{ op: "move", path, from: i, to: i + 1 }]), disabled: i === list.length - 1 }, "↓"),
        h("button", { type: "button", class: "small", onclick: () => send([{ op: "delete", path: [...path, i] }]) }, "Remove")))),
    h("button", { type: "button", "data-key": fmt(path) + "#add", onclick: () => send([{ op: "insert", path, index: list.length, value: starterItem(sh.items) }]) }, `Add ${(sh.items.title || "item").toLowerCase()}`));
}

function starterItem(node) {
  const out = {};
  for (const k of node.required || []) {
    const sub = shape(node.properties[k]);
    out[k] = sub.kind === "number" ? 1 : sub.kind === "enum" ? sub.node.enum[0] : sub.kind === "dict" ? {} : `new_${k}`;
  }
  return out;
}

function unionWidget(path, sh, value) {
  const disc = sh.node.discriminator.propertyName;
  const mapping = sh.node.discriminator.mapping;
  const current = value && typeof value === "object" ? value[disc] : undefined;
  const legend = sh.meta.title || titleOf(String(path[path.length - 1]));
  const picker = h("select", { id: "f-" + fmt(path) + "." + disc, "data-key": fmt([...path, disc]),
    onchange: (e) => (e.target.value === "" ? remove(path) : setValue(path, { [disc]: e.target.value, ...starterItem(withoutDisc(resolve({ $ref: mapping[e.target.value] }), disc)) })) },
    sh.nullable ? h("option", { value: "" }, "(none)") : null,
    Object.keys(mapping).map((k) => h("option", { value: k, selected: k === current }, k)));
  const variant = current && mapping[current] ? resolve({ $ref: mapping[current] }) : null;
  return h("fieldset", {}, h("legend", {}, legend),
    sh.meta.description ? h("div", { class: "desc" }, sh.meta.description) : null,
    h("div", { class: "field", "data-path": fmt([...path, disc]) }, h("label", { for: "f-" + fmt(path) + "." + disc }, "Type"), picker),
    variant ? Object.entries(variant.properties).filter(([k]) => k !== disc)
      .map(([k, sub]) => field([...path, k], sub, { required: (variant.required || []).includes(k) })) : null);
}
function withoutDisc(node, disc) { return { ...node, required: (node.required || []).filter((k) => k !== disc) }; }

// Variables in a templated string, highlighted; undeclared ones flagged.
function varsLine(parts) {
  if (!parts || !parts.length) return null;
  return h("div", { class: "vars", "data-role": "vars" }, parts.map((p) => p.error ? h("span", { class: "bad" }, p.text)
    : p.variable ? h("span", { class: "var" + (p.declared ? "" : " undeclared"), title: p.declared ? "declared" : "undeclared parameter" }, p.text)
    : p.text));
}

// --------------------------------------------------------------- screens --

const SCREENS = [
  ["start", "Start", () => []],
  ["details", "Basic details", (p) => !["base_url", "authentication", "parameters", "streams"].includes(p.split(/[.[]/)[0])],
  ["auth", "Authentication", (p) => /^(base_url|authentication)/.test(p)],
  ["params", "Parameters", (p) => p.startsWith("parameters")],
  ["streams", "Streams", (p) => p.startsWith("streams")],
  ["infer", "Infer schema", () => false],
  ["test", "Test", () => false],
  ["publish", "Publish", () => false],
];

function renderNav() {
  const nav = document.getElementById("nav");
  const issues = (S.spec && S.spec.issues) || [];
  nav.replaceChildren(...SCREENS.map(([key, label, owns]) => {
    const n = issues.filter((i) => i.path && owns(i.path)).length;
    return h("a", { class: S.screen === key ? "active" : "", "data-screen": key, onclick: () => { S.screen = key; render(); } },
      label, n ? h("span", { class: "count" }, n) : null);
  }));
}

function render() {
  renderNav();
  const header = document.getElementById("file");
  const status = document.getElementById("status");
  const save = document.getElementById("save");
  if (S.spec) {
    header.textContent = S.spec.file + (S.spec.dirty ? " (unsaved)" : "");
    const n = S.spec.issues.length;
    status.textContent = n ? `${n} problem${n === 1 ? "" : "s"}` : "valid";
    status.className = "status " + (n ? "bad" : "ok");
    save.disabled = !S.spec.dirty;
    document.getElementById("pane-title").textContent = S.spec.format === "json" ? "JSON" : "YAML";
  }
  renderProblems();
  const main = document.getElementById("screen");
  const active = document.activeElement;
  const focusKey = active && active.dataset ? active.dataset.key : null;
  const caret = focusKey && active.selectionStart !== undefined ? [active.selectionStart, active.selectionEnd, active.value] : null;
  const builder = S.spec || S.screen === "start" ? screens[S.screen] : screens.start;
  main.replaceChildren(builder());
  markIssues(main);
  if (focusKey) {
    const again = main.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) {
      again.focus();
      if (caret && typeof again.setSelectionRange === "function" && again.type !== "number" && again.type !== "checkbox") {
        if (again.value !== caret[2] && again.tagName !== "SELECT") again.value = caret[2];
        try { again.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text input */ }
      }
    }
  }
}

// Each problem next to its field (the nearest one shown), and in the list.
function markIssues(root) {
  for (const issue of (S.spec && S.spec.issues) || []) {
    let path = issue.path;
    while (path) {
      const el = root.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (el) {
        el.classList.add("has-issue");
        el.append(h("div", { class: "issue", "data-issue": issue.path }, issue.message));
        break;
      }
      path = path.replace(/(\.[^.[]+|\[\d+\])$/, "");
      if (!/[.[]/.test(path) && !root.querySelector(`[data-path="${CSS.escape(path)}"]`)) break;
    }
  }
}

function renderProblems() {
  const list = document.getElementById("problems");
  const issues = (S.spec && S.spec.issues) || [];
  list.className = issues.length ? "" : "none";
  if (!S.spec) { list.replaceChildren(); return; }
  list.replaceChildren(...(issues.length ? issues.map((i) => h("li", { title: "go to the line", onclick: () => gotoLine(i.line) }, i.text))
    : [h("li", {}, "No problems: the spec is valid.")]));
}

function props(def) { return resolve({ $ref: `#/definitions/${def}` }).properties; }
function specProps() { return S.schema.properties; }

const screens = {
  start() {
    const file = h("input", { type: "text", id: "new-file", value: "spec.yaml" });
    const name = h("input", { type: "text", id: "new-name", placeholder: "Aircall" });
    const base = h("input", { type: "text", id: "new-base-url", placeholder: "https://api.example.com/v1" });
    const auth = h("select", { id: "new-auth" }, S.authTypes.map((a) => h("option", { value: a }, a)));
    const path = h("input", { type: "text", id: "new-stream-path", placeholder: "/users" });
    const out = h("p", { class: "error", id: "new-error" });
    const openName = h("input", { type: "text", id: "open-file", list: "spec-files", placeholder: "spec.yaml" });
    return h("section", {}, h("h2", {}, "Start"),
      h("div", { class: "cols" },
        h("fieldset", {}, h("legend", {}, "Open an existing spec"),
          h("datalist", { id: "spec-files" }, S.files.map((f) => h("option", { value: f }))),
          h("ul", {}, S.files.map((f) => h("li", {}, h("a", { href: "#", "data-open": f, onclick: (e) => { e.preventDefault(); openSpec(f); } }, f)))),
          h("div", { class: "field" }, h("label", { for: "open-file" }, "File (in the studio's folder)"), openName),
          h("button", { type: "button", id: "open", onclick: () => openSpec(openName.value) }, "Open")),
        h("fieldset", {}, h("legend", {}, "Create New"),
          h("p", { class: "desc" }, "Writes the commented starter spec that tap-builder init writes, then opens it."),
          [["new-file", "Spec file", file], ["new-name", "API name", name], ["new-base-url", "Base URL", base],
            ["new-auth", "Authentication", auth], ["new-stream-path", "First stream's path", path]]
            .map(([id, label, input]) => h("div", { class: "field" }, h("label", { for: id }, label), input)),
          h("button", { type: "button", class: "primary", id: "create", onclick: async () => {
            try {
              const spec = await api("POST", "/api/new", { file: file.value, name: name.value, base_url: base.value, auth: auth.value, stream_path: path.value });
              S.screen = "details"; applySpec(spec); refreshFiles();
            } catch (e) { out.textContent = e.message; }
          } }, "Create New"), out)));
  },

  details() {
    const p = specProps();
    const own = Object.keys(p).filter((k) => !["base_url", "authentication", "parameters", "streams"].includes(k));
    const data = S.spec.data || {};
    const suggestion = S.spec.hints && S.spec.hints.suggested_tap_id;
    const logo = S.spec.hints && S.spec.hints.logo_src;
    return h("section", {}, h("h2", {}, "Basic details"),
      own.map((k) => {
        const f = field([k], p[k], { required: (S.schema.required || []).includes(k) });
        if (k === "tap_id" && suggestion && suggestion !== data.tap_id) {
          f.append(h("div", { class: "suggest" }, "Suggested from the name: ", h("code", {}, suggestion), " ",
            h("button", { type: "button", class: "small", id: "use-tap-id", onclick: () => setValue(["tap_id"], suggestion) }, "Use")));
        }
        if (k === "logo") {
          f.append(h("div", { class: "row" }, logo ? h("img", { class: "logo", src: logo, alt: "logo preview", id: "logo-preview" }) : h("span", { class: "desc" }, "No logo: give a URL, or a domain to use its icon."),
            logo && !data.logo ? h("span", { class: "desc" }, "(from the domain, as the generated README shows it)") : null));
        }
        return f;
      }));
  },

  auth() {
    const p = specProps();
    const base = field(["base_url"], p.base_url, { required: true });
    base.append(varsLine(S.spec.hints && S.spec.hints.base_url_parts) || "");
    const declared = (S.spec.hints && S.spec.hints.declared) || [];
    return h("section", {}, h("h2", {}, "Authentication"), base,
      h("p", { class: "desc" }, "Variables: ", declared.concat(S.spec.hints ? S.spec.hints.built_in_settings : []).map((n) => `{config.${n}}`).join(", ") || "none declared"),
      field(["authentication"], p.authentication));
  },

  params() {
    const p = specProps();
    return h("section", {}, h("h2", {}, "Parameters"),
      h("div", { class: "cols" }, h("div", {}, field(["parameters"], p.parameters)), tenantView()));
  },

  streams() {
    const streams = (S.spec.data && S.spec.data.streams) || [];
    if (S.stream >= streams.length) S.stream = Math.max(0, streams.length - 1);
    const i = S.stream;
    const list = h("ul", { class: "stream-list" }, streams.map((s, k) => h("li", { class: k === i ? "active" : "", "data-stream": k, onclick: () => { S.stream = k; render(); } },
      h("span", {}, (s && s.name) || `stream ${k + 1}`), h("code", {}, (s && s.id) || ""))));
    const tools = h("div", { class: "toolbar" },
      h("button", { type: "button", id: "stream-add", onclick: () => { S.stream = streams.length; send([{ op: "insert", path: ["streams"], index: streams.length, value: { name: "New stream", id: `stream_${streams.length + 1}`, path: "/", records_selector: "$[*]", schema: { type: "object", properties: {} } } }]); } }, "Add"),
      h("button", { type: "button", id: "stream-duplicate", disabled: !streams.length, onclick: () => { const c = JSON.parse(JSON.stringify(streams[i])); c.id = `${c.id}_copy`; c.name = `${c.name} copy`; S.stream = i + 1; send([{ op: "insert", path: ["streams"], index: i + 1, value: c }]); } }, "Duplicate"),
      h("button", { type: "button", id: "stream-delete", disabled: streams.length < 2, onclick: () => send([{ op: "delete", path: ["streams", i] }]) }, "Delete"),
      h("button", { type: "button", id: "stream-up", disabled: i === 0, onclick: () => { S.stream = i - 1; send([{ op: "move", path: ["streams"], from: i, to: i - 1 }]); } }, "↑"),
      h("button", { type: "button", id: "stream-down", disabled: i >= streams.length - 1, onclick: () => { S.stream = i + 1; send([{ op: "move", path: ["streams"], from: i, to: i + 1 }]); } }, "↓"));
    return h("section", {}, h("h2", {}, "Streams"), h("div", { class: "streams" }, h("div", {}, list, tools),
      streams.length ? streamDetail(i) : h("p", {}, "No streams yet.")));
  },

  infer: () => inferScreen(),
  test: () => testScreen(),
  publish: () => publishScreen(),
};

// Stream properties by section; any property not listed goes to "More", so a
// new spec option shows up without UI code.
const SECTIONS = [
  ["Details", ["name", "id", "path", "primary_key", "method", "response_format"]],
  ["Request", ["query_params", "headers", "body"]],
  ["Pagination", ["pagination"]],
  ["Incremental", ["incremental"]],
  ["Response", ["records_selector", "schema", "schema_file"]],
  ["Parent-child", ["parent_stream", "child_context", "sync_children"]],
];

function streamDetail(i) {
  const p = props("Stream");
  const req = resolve({ $ref: "#/definitions/Stream" }).required || [];
  const listed = SECTIONS.flatMap(([, keys]) => keys);
  const more = Object.keys(p).filter((k) => !listed.includes(k));
  const custom = { schema: schemaWidget, parent_stream: parentWidget, child_context: contextWidget };
  return h("div", { "data-path": `streams[${i}]` }, [...SECTIONS, ["More", more]].map(([title, keys]) =>
    h("fieldset", { "data-section": title }, h("legend", {}, title),
      keys.map((k) => field(["streams", i, k], p[k], { required: req.includes(k), widget: custom[k] })))));
}

function parentWidget(path, sh, value, id) {
  const ids = ((S.spec.hints && S.spec.hints.stream_ids) || []).filter((s) => s !== get(S.spec.data, [...path.slice(0, -1), "id"]));
  const streams = (S.spec.data && S.spec.data.streams) || [];
  const parent = streams.find((s) => s && s.id === value);
  const keys = parent && parent.child_context && typeof parent.child_context === "object" ? Object.keys(parent.child_context) : [];
  return h("div", {}, h("select", { id, "data-key": fmt(path), onchange: (e) => (e.target.value ? setValue(path, e.target.value) : remove(path)) },
    h("option", { value: "" }, "(none: a top-level stream)"),
    ids.map((s) => h("option", { value: s, selected: s === value }, s))),
    value ? h("div", { class: "desc", id: "parent-context" }, keys.length ? `Context from ${value}: ${keys.map((k) => `{${k}}`).join(", ")}` : `${value} gives no context keys yet: add them in its Parent-child section.`) : null);
}

// Child context: the keys this stream gives its children, each a field of its
// own schema (a child stream is one whose parent_stream names this one).
function contextWidget(path, sh, value) {
  const own = get(S.spec.data, [...path.slice(0, -1), "id"]);
  const fields = (S.spec.hints && S.spec.hints.schema_fields && S.spec.hints.schema_fields[own]) || [];
  const entries = Object.entries(value && typeof value === "object" && !Array.isArray(value) ? value : {});
  const options = (cur) => [h("option", { value: "" }, "(pick a parent field)"),
    ...[...new Set([...fields, ...(cur ? [cur] : [])])].map((f) => h("option", { value: f, selected: f === cur }, f))];
  const newKey = h("input", { type: "text", placeholder: "context key", id: `${fmt(path)}#new-key`, "aria-label": "new context key" });
  const newField = h("select", { id: `${fmt(path)}#new-field`, "aria-label": "parent field" }, options(""));
  return h("div", {},
    h("div", { class: "desc" }, `Keys this stream's child streams use as {key} in their path, headers and parameters; each takes a field of ${own}'s schema.`),
    entries.map(([k, v]) => h("div", { class: "row" }, h("code", {}, `{${k}}`),
      h("select", { "data-key": fmt([...path, k]), onchange: (e) => setValue([...path, k], e.target.value) }, options(v)),
      h("button", { type: "button", class: "small", onclick: () => remove([...path, k]) }, "✕"))),
    h("div", { class: "row" }, newKey, newField, h("button", { type: "button", class: "small", id: `${fmt(path)}#add`,
      onclick: () => newKey.value && newField.value && setValue([...path, newKey.value], newField.value) }, "Add")));
}

// The schema as an editable tree, and as raw JSON.
const TYPES = ["string", "integer", "number", "boolean", "object", "array"];
function schemaWidget(path, sh, value, id) {
  const schema = value && typeof value === "object" ? value : null;
  const raw = h("textarea", { id, "data-key": fmt(path), value: schema ? JSON.stringify(schema, null, 2) : "",
    onchange: (e) => { if (!e.target.value.trim()) return remove(path);
      try { return setValue(path, JSON.parse(e.target.value)); } catch (err) { toast("not JSON: " + err.message); } } });
  return h("div", { class: "tree" }, schema ? treeNode(path, schema) : h("button", { type: "button", onclick: () => setValue(path, { type: "object", properties: {} }) }, "Add an inline schema"),
    h("details", {}, h("summary", {}, "Raw JSON"), raw));
}

function treeNode(path, node) {
  const propsObj = node && node.properties && typeof node.properties === "object" ? node.properties : null;
  if (!propsObj) return null;
  const add = h("input", { type: "text", placeholder: "new field", "aria-label": `new field in ${fmt(path)}` });
  return h("div", { class: "node" }, Object.entries(propsObj).map(([name, sub]) => {
    const p = [...path, "properties", name];
    const types = Array.isArray(sub.type) ? sub.type : [sub.type];
    const main = types.find((t) => t !== "null") || "string";
    const nullable = types.includes("null");
    const setType = (t, n) => setValue([...p, "type"], n ? [t, "null"] : t);
    return h("div", { "data-path": fmt(p) }, h("div", { class: "row" },
      h("input", { type: "text", value: name, "aria-label": "field name", onchange: (e) => renameKey([...path, "properties"], name, e.target.value) }),
      h("select", { "data-key": fmt([...p, "type"]), "aria-label": `type of ${name}`, onchange: (e) => setType(e.target.value, nullable) }, TYPES.map((t) => h("option", { value: t, selected: t === main }, t))),
      h("label", {}, h("input", { type: "checkbox", checked: nullable, onchange: (e) => setType(main, e.target.checked) }), " null"),
      main === "string" ? h("select", { "aria-label": `format of ${name}`, onchange: (e) => (e.target.value ? setValue([...p, "format"], e.target.value) : remove([...p, "format"])) },
        ["", "date-time", "date", "email", "uri"].map((f) => h("option", { value: f, selected: (sub.format || "") === f }, f || "(no format)"))) : null,
      h("button", { type: "button", class: "small", title: `remove ${name}`, onclick: () => remove(p) }, "✕")),
      main === "object" ? treeNode(p, sub) : null);
  }), h("div", { class: "row" }, add, h("button", { type: "button", class: "small", onclick: () => add.value && setValue([...path, "properties", add.value], { type: "string" }) }, "Add field")));
}

// ----------------------------------------------------------- tenant view --

function tenantView() {
  const params = ((S.spec.data && S.spec.data.parameters) || []).filter((p) => p && typeof p.name === "string");
  const inputs = {};
  const rows = params.map((p) => {
    const cfg = S.config[p.name];
    const type = p.secret ? "password" : p.type === "integer" || p.type === "number" ? "number" : p.type === "boolean" ? "checkbox" : "text";
    const input = h("input", { type, id: `tenant-${p.name}`, name: p.name,
      value: type === "checkbox" ? null : cfg && "value" in cfg ? String(cfg.value) : "",
      checked: type === "checkbox" && cfg && cfg.value === true,
      placeholder: cfg && cfg.set ? "•••••• (set; type to replace)" : p.default !== undefined && p.default !== null ? String(p.default) : p.type === "date-time" ? "2024-01-01T00:00:00Z" : "" });
    inputs[p.name] = [input, p];
    return h("div", { class: "field" }, h("label", { for: `tenant-${p.name}` }, (p.label || titleOf(p.name)) + (p.required === false || p.default != null ? "" : " *")),
      input, p.description ? h("div", { class: "desc" }, p.description) : null);
  });
  const apiUrl = h("input", { type: "text", id: "tenant-api_url", value: S.config.api_url && S.config.api_url.value ? S.config.api_url.value : "", placeholder: (S.spec.data && S.spec.data.base_url) || "" });
  const out = h("span", { class: "desc", id: "tenant-saved" });
  return h("fieldset", { class: "tenant" }, h("legend", {}, "Tenant view: the connect form"),
    h("p", { class: "desc" }, "What a tenant fills in. The values are the local test config for Infer and Test: kept in this studio's memory only, never in the spec."),
    rows,
    h("div", { class: "field" }, h("label", { for: "tenant-api_url" }, "API URL (built in)"), apiUrl, h("div", { class: "desc" }, "Replaces the base URL: for proxies, sandboxes and tests.")),
    h("button", { type: "button", class: "primary", id: "tenant-save", onclick: async () => {
      const values = {};
      for (const [name, [input, p]] of Object.entries(inputs)) {
        if (input.type === "checkbox") values[name] = input.checked;
        else if (input.value !== "") values[name] = p.type === "integer" ? parseInt(input.value, 10) : p.type === "number" ? Number(input.value) : input.value;
        else if (!(S.config[name] && S.config[name].set)) values[name] = null;
      }
      values.api_url = apiUrl.value || null;
      const res = await api("POST", "/api/config", { values });
      S.config = res.config; out.textContent = "Test config saved (in memory).";
      render();
      document.getElementById("tenant-saved").textContent = "Test config saved (in memory).";
    } }, "Use as test config"), " ", out);
}

// ------------------------------------------------------------ infer/test --

function streamPicker(id) {
  const streams = (S.spec.data && S.spec.data.streams) || [];
  return h("select", { id, onchange: (e) => { S.stream = parseInt(e.target.value, 10); render(); } },
    streams.map((s, k) => h("option", { value: k, selected: k === S.stream }, (s && s.id) || `stream ${k + 1}`)));
}

function diffView(result, onApply) {
  const d = result.diff;
  return h("div", { id: "infer-result" },
    h("p", {}, result.summary ? result.summary + ". " : "", `Added: ${d.added.join(", ") || "none"}. Removed: ${d.removed.join(", ") || "none"}. Changed: ${d.changed.join(", ") || "none"}.`),
    h("pre", { class: "diff", id: "infer-diff" }, d.text.split("\n").map((l) => h("div", { class: l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : "" }, l))),
    h("button", { type: "button", class: "primary", id: "infer-apply", onclick: onApply }, "Apply to the stream's schema"));
}

function applySchema(i, schema) {
  const ops = [{ op: "set", path: ["streams", i, "schema"], value: schema }];
  if (get(S.spec.data, ["streams", i, "schema_file"]) !== undefined) ops.push({ op: "delete", path: ["streams", i, "schema_file"] });
  S.infer = null;
  return send(ops).then(() => toast("Schema applied"));
}

function inferScreen() {
  const sample = h("textarea", { id: "infer-sample", placeholder: '[{"id": 1, "name": "Ada"}]', rows: 10, value: S.inferSample || "",
    oninput: (e) => { S.inferSample = e.target.value; } });
  const selector = h("input", { type: "text", id: "infer-selector", placeholder: "$.calls[*] (when the sample is a whole response)" });
  const out = h("p", { class: "error", id: "infer-error" });
  const i = S.stream;
  return h("section", {}, h("h2", {}, "Infer schema"),
    h("div", { class: "field" }, h("label", { for: "infer-stream" }, "Stream"), streamPicker("infer-stream")),
    h("div", { class: "field" }, h("label", { for: "infer-sample" }, "Sample: a record, a list of records, or a whole response"), sample),
    h("div", { class: "field" }, h("label", { for: "infer-selector" }, "Records selector (optional)"), selector),
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", id: "infer-run", onclick: async () => {
        try { S.infer = await api("POST", "/api/infer", { sample: sample.value, selector: selector.value, index: i }); render(); }
        catch (e) { out.textContent = e.message; }
      } }, "Infer"),
      h("button", { type: "button", id: "infer-live", onclick: () => startJob("infer") }, "Infer from the live API (test config)")),
    jobLine("infer"), out,
    S.infer ? diffView(S.infer, () => applySchema(i, S.infer.schema)) : null);
}

async function startJob(kind) {
  const streams = S.spec.data.streams || [];
  const stream = streams[S.stream] && streams[S.stream].id;
  const limit = parseInt((document.getElementById("test-limit") || {}).value || "10", 10);
  if (kind === "test") S.test = null; else S.infer = null;
  try { S.job = await api("POST", "/api/jobs", { kind, stream, limit }); } catch (e) { toast(e.message); return; }
  render();
  poll(S.job.id, S.stream);
}

async function poll(id, index) {
  while (S.job && S.job.id === id && S.job.state === "running") {
    await new Promise((r) => setTimeout(r, 300));
    try { S.job = await api("GET", `/api/jobs/${id}?index=${index}`); } catch (e) { toast(e.message); return; }
    if (S.job.state !== "running" && S.job.result && S.job.kind === "test") S.test = S.job.result;
    if (S.job.state !== "running" && S.job.result && S.job.kind === "infer" && S.job.result.ok) S.infer = S.job.result;
    updateJobLine();
    if (S.job.state !== "running") render();
  }
}

function jobLine(kind) {
  const job = S.job && S.job.kind === kind ? S.job : null;
  return h("div", { class: "row", id: "job" },
    h("span", { class: "progress", id: "job-progress" }, job ? job.progress : ""),
    job && job.state === "running" ? h("button", { type: "button", id: "job-cancel", onclick: async () => { S.job = await api("POST", `/api/jobs/${job.id}/cancel`); render(); } }, "Cancel") : null,
    job && job.result && !job.result.ok ? h("div", { class: "error", id: "job-error" }, job.result.error) : null);
}
function updateJobLine() {
  const el = document.getElementById("job-progress");
  if (el && S.job) el.textContent = S.job.progress;
}

function table(rows, columns) {
  return h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, r[c] === undefined ? "" : typeof r[c] === "string" ? r[c] : JSON.stringify(r[c])))))));
}

function testScreen() {
  const r = S.test;
  const i = S.stream;
  const limit = h("input", { type: "number", id: "test-limit", value: S.testLimit || 10, min: 1, oninput: (e) => { S.testLimit = e.target.value; } });
  const running = S.job && S.job.state === "running";
  const columns = r && r.records && r.records.length ? [...new Set(r.records.flatMap((x) => Object.keys(x)))].slice(0, 10) : [];
  return h("section", {}, h("h2", {}, "Test"),
    h("p", { class: "desc" }, "Runs one stream of the generated tap in the background with the test config (Parameters > tenant view), as tap-builder preview does."),
    h("div", { class: "toolbar" }, h("label", { for: "test-stream" }, "Stream "), streamPicker("test-stream"),
      h("label", { for: "test-limit" }, " Records "), limit,
      h("button", { type: "button", class: "primary", id: "test-run", disabled: running, onclick: () => startJob("test") }, "Test")),
    jobLine("test"),
    r && r.ok ? h("div", { id: "test-result" },
      h("h3", {}, `Requests (${r.requests.length})`),
      h("ol", { id: "test-requests" }, r.requests.map((q) => h("li", {},
        h("code", {}, `${q.stream}: ${q.method} ${q.url} -> ${q.status} in ${Math.round(q.latency_ms)} ms${q.records !== undefined ? `, ${q.records} records` : ""}`),
        h("div", { class: "desc" }, "headers: " + Object.entries(q.headers).map(([k, v]) => `${k}: ${v}`).join(", ")),
        q.body ? h("div", { class: "desc" }, "body: " + q.body) : null,
        q.decision ? h("div", { class: "decision" }, q.decision) : null))),
      h("p", { id: "test-stop" }, "Paging stopped: " + r.stop_reason),
      h("h3", {}, `Records (${r.records.length})`),
      h("div", { id: "test-records" }, table(r.records, columns)),
      h("h3", {}, "Schema"),
      h("div", { id: "test-schema" },
        r.mismatches.length ? h("ul", {}, r.mismatches.slice(0, 50).map((m) => h("li", { class: "error" }, `record ${m.record} ${m.path} = ${JSON.stringify(m.value)}: ${m.message}`))) : h("p", { class: "ok" }, "Every record fits the schema."),
        r.dropped_fields.length ? h("div", { id: "test-dropped" }, h("p", {}, "The API sends fields the schema lacks (the tap drops them):"),
          r.dropped_fields.map((f) => h("button", { type: "button", class: "small", "data-add-field": f,
            onclick: () => setValue(["streams", i, "schema", "properties", f], r.additions[f] || {}).then(() => { r.dropped_fields = r.dropped_fields.filter((x) => x !== f); render(); toast(`added ${f}`); }) }, `+ ${f}`))) : null),
      h("h3", {}, "Bookmark a sync would leave"),
      h("pre", { class: "block", id: "test-bookmark" }, r.bookmark)) : null);
}

function publishScreen() {
  const id = S.spec.data && S.spec.data.tap_id;
  const folder = h("input", { type: "text", id: "publish-folder", value: S.publishFolder || (id ? `tap-${id}` : ""), oninput: (e) => { S.publishFolder = e.target.value; } });
  const force = h("input", { type: "checkbox", id: "publish-force" });
  const out = h("p", { class: "error", id: "publish-error" });
  const r = S.publish;
  return h("section", {}, h("h2", {}, "Publish"),
    h("p", { class: "desc" }, "Generates the tap package, as tap-builder generate does, from the spec as it is now."),
    h("div", { class: "field" }, h("label", { for: "publish-folder" }, "Folder (in the studio's folder)"), folder),
    h("div", { class: "field" }, h("label", {}, force, " Regenerate into a folder tap-builder generated before")),
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", id: "publish-run", disabled: !S.spec.valid, onclick: async () => {
        try { S.publish = await api("POST", "/api/publish", { folder: folder.value, force: force.checked }); render(); }
        catch (e) { out.textContent = e.message; }
      } }, "Publish"),
      S.spec.valid ? h("a", { href: "/api/package.zip", id: "publish-zip", download: "" }, "Download as .zip") : null),
    S.spec.valid ? null : h("p", { class: "error" }, "Fix the problems first (see the list)."),
    out,
    r ? h("div", { id: "publish-result" }, h("p", { class: "ok" }, `Wrote ${r.files} files to ${r.folder}.`),
      r.commands.map((c) => h("div", {}, h("h3", {}, c.title), h("pre", { class: "block" }, c.text)))) : null);
}

// ------------------------------------------------------------ text pane --

const source = () => document.getElementById("source");
function setSource(text) {
  const el = source();
  if (el.value !== text) {
    const top = el.scrollTop;
    el.value = text;
    el.scrollTop = top;
  }
  updateGutter();
}
function updateGutter() {
  const lines = source().value.split("\n").length;
  document.getElementById("gutter").textContent = Array.from({ length: lines }, (_, i) => i + 1).join("\n");
  document.getElementById("gutter").scrollTop = source().scrollTop;
}
function gotoLine(line) {
  if (!line) return;
  const el = source();
  const lines = el.value.split("\n");
  const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
  el.focus();
  el.setSelectionRange(start, start + (lines[line - 1] || "").length);
  el.scrollTop = Math.max(0, (line - 5) * 19);
}

async function openSpec(file) {
  try { const spec = await api("POST", "/api/open", { file }); S.screen = "details"; S.test = S.infer = S.publish = null; applySpec(spec); }
  catch (e) { toast(e.message); }
}
async function refreshFiles() { const st = await api("GET", "/api/state"); S.files = st.files; }

async function save() {
  try {
    await pending;
    const res = await api("POST", "/api/save", {});
    S.spec.dirty = false; render(); toast(`Saved ${res.saved}`);
  } catch (e) { toast(e.message); }
}

async function boot() {
  const [schema, state] = await Promise.all([api("GET", "/api/schema"), api("GET", "/api/state")]);
  S.schema = schema; S.files = state.files; S.config = state.config; S.authTypes = state.auth_types;
  if (state.spec) { S.spec = state.spec; S.screen = "details"; setSource(state.spec.text); }
  render();
  source().addEventListener("input", () => {
    updateGutter();
    if (!S.spec) return;
    debounced("#source", () => { pending = pending.then(() => api("POST", "/api/text", { text: source().value })
      .then((spec) => applySpec(spec, { keepSource: true })).catch((e) => toast(e.message))); }, 500);
  });
  source().addEventListener("scroll", updateGutter);
  document.getElementById("save").addEventListener("click", save);
  document.addEventListener("keydown", (e) => { if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); } });
  document.body.dataset.ready = "1";
}

boot().catch((e) => { document.getElementById("screen").textContent = "The studio could not start: " + e.message; });
