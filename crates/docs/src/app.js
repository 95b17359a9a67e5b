// pitwall docs: renders every page from the JSON embedded in this file (nothing is
// fetched, so the site works from file://). Routes live in location.hash:
//   #/                       overview
//   #/graph?select=SEL       the lineage graph, filtered with --select syntax
//   #/charts                 charts
//   #/model/NAME, #/source/SOURCE.TABLE, #/test/NAME
//   #model.NAME, #source.SOURCE.TABLE, #test.NAME, or a unique id: deep links, as above
//   #/search?q=TEXT          every node whose name, description, columns or SQL hold TEXT
//   #/graph?zoom=Z           the graph zoomed Z times (wheel, drag and the buttons change it)
// A big project's graph starts with its folders folded (graph/folds.rs); a filter, a
// node's page or a click opens them.
(function () {
  'use strict';

  const DATA = JSON.parse(document.getElementById('pitwall-data').textContent);
  const ORDER = DATA.order.map((uid) => DATA.nodes[uid]);
  const BY_UID = new Map(ORDER.map((n) => [n.unique_id, n]));
  const BY_ROUTE = new Map(ORDER.map((n) => [n.resource_type + '/' + n.name, n]));
  const DRAWN = ORDER.filter((n) => n.resource_type !== 'test');

  // ---- helpers ---------------------------------------------------------------------

  function esc(value) {
    const map = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
    return String(value === null || value === undefined ? '' : value).replace(/[&<>"']/g, (c) => map[c]);
  }
  function href(node) {
    return '#/' + node.resource_type + '/' + encodeURIComponent(node.name);
  }
  function link(node) {
    return '<a href="' + esc(href(node)) + '">' + esc(node.name) + '</a>';
  }
  function nodes(uids) {
    return (uids || []).map((u) => BY_UID.get(u)).filter(Boolean);
  }
  function seconds(value) {
    return typeof value === 'number' ? value.toFixed(value < 10 ? 2 : 1) + ' s' : '';
  }
  function status(value) {
    return value ? '<span class="status-' + esc(String(value).toLowerCase()) + '">' + esc(value) + '</span>' : '';
  }
  // An RFC 3339 time as `2026-11-30 17:45:12 UTC`, the exact value kept in `datetime`.
  function when(iso) {
    const shown = String(iso).replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
    return '<time class="built-at" datetime="' + esc(iso) + '">' + esc(shown) + '</time>';
  }
  // What a node's built_at (run_results) says: when what the warehouse holds for it was
  // made, by the last run or, for a node that run reused, by the one that built it; for a
  // test, when it last ran (it is reused only after a pass).
  function builtVerb(run, type) {
    return type !== 'test' ? 'built' : ['pass', 'reused'].includes(run.status) ? 'passed' : 'ran';
  }
  // A run's statuses in words, built before reused before the rest: `2 built, 19 reused`.
  const STATUS_WORDS = [['success', 'built'], ['pass', 'passed'], ['warn', 'warned'], ['reused', 'reused'],
    ['fail', 'failed'], ['error', 'errored'], ['skipped', 'skipped']];
  function tally(counts) {
    const known = new Map(STATUS_WORDS);
    const order = STATUS_WORDS.map((w) => w[0]).concat(Object.keys(counts).filter((s) => !known.has(s)));
    return order.filter((s) => counts[s]).map((s) => '<span class="status-' + esc(s) + '" data-status="' + esc(s) +
      '">' + counts[s] + ' ' + esc(known.get(s) || s) + '</span>').join(', ');
  }
  function capitalized(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  function facts(rows) {
    const items = rows.filter((r) => r[1] !== '' && r[1] !== null && r[1] !== undefined);
    return '<dl class="facts">' + items.map((r) => '<dt>' + esc(r[0]) + '</dt><dd>' + r[1] + '</dd>').join('') + '</dl>';
  }
  function code(title, text, open) {
    if (!text) return '';
    return '<details class="code"' + (open ? ' open' : '') + '><summary>' + esc(title) + '</summary><pre><code>' +
      esc(text) + '</code></pre></details>';
  }

  // ---- selectors: a port of orchestrator/src/select.rs (tests check the two agree) --

  const METHODS = new Map([
    ['tag', 'tag'], ['path', 'path'], ['source', 'source'], ['resource_type', 'resource_type'], ['fqn', 'default'],
  ]);

  function depth(text, atom) {
    if (text === '') return { depth: null };
    if (!/^\d+$/.test(text)) throw new Error("selector '" + atom + "': '" + text + "' is not a graph depth");
    return { depth: Number(text) };
  }

  function parseAtom(atom) {
    if (!atom) throw new Error('empty selector (check for a stray comma)');
    let rest = atom;
    const at = rest.startsWith('@');
    if (at) rest = rest.slice(1);
    let parents = null;
    let plus = rest.indexOf('+');
    if (plus >= 0 && /^\d*$/.test(rest.slice(0, plus))) {
      parents = depth(rest.slice(0, plus), atom);
      rest = rest.slice(plus + 1);
    }
    let children = null;
    plus = rest.lastIndexOf('+');
    if (plus >= 0 && /^\d*$/.test(rest.slice(plus + 1))) {
      children = depth(rest.slice(plus + 1), atom);
      rest = rest.slice(0, plus);
    }
    if (at && (parents || children)) throw new Error("selector '" + atom + "': '@' cannot be combined with '+'");
    let method = 'default';
    let value = rest;
    const colon = rest.indexOf(':');
    let configPath = null;
    if (colon >= 0) {
      const name = rest.slice(0, colon);
      method = METHODS.get(name);
      if (!method && name.startsWith('config.') && name.length > 7) {
        method = 'config';
        configPath = name.slice(7).split('.');
      }
      value = rest.slice(colon + 1);
      if (!method) throw new Error("selector '" + atom + "': unknown method '" + name + "'");
    }
    if (!value) throw new Error("selector '" + atom + "' has no value");
    return { at, parents, children, method, value, configPath };
  }

  function glob(pattern, text) {
    const star = pattern.indexOf('*');
    if (star < 0) return pattern === text;
    const head = pattern.slice(0, star);
    const tail = pattern.slice(star + 1);
    if (!text.startsWith(head)) return false;
    const rest = text.slice(head.length);
    for (let i = 0; i <= rest.length; i++) if (glob(tail, rest.slice(i))) return true;
    return false;
  }

  function matches(atom, node) {
    const value = atom.value;
    switch (atom.method) {
      case 'default': {
        if (glob(value, node.name)) return true;
        const parts = value.split('.');
        return parts.length <= node.fqn.length && parts.every((p, i) => glob(p, node.fqn[i])) &&
          node.resource_type !== 'source';
      }
      case 'tag': return node.tags.some((t) => glob(value, t));
      case 'path': {
        const v = value.replace(/\/+$/, '');
        return node.path === v || node.path.startsWith(v + '/');
      }
      case 'source':
        return node.resource_type === 'source' && (glob(value, node.fqn[0]) || glob(value, node.fqn[0] + '.' + node.fqn[1]));
      case 'resource_type': return node.resource_type === value;
      case 'config': {
        let v = node.config;
        for (const key of atom.configPath) v = v !== null && typeof v === 'object' ? v[key] : undefined;
        return configMatches(value, v);
      }
      default: return false;
    }
  }

  // As select.rs's config_matches: a string (also case-insensitively), a scalar by its
  // JSON text, a list when an item does.
  function configMatches(pattern, v) {
    if (typeof v === 'string') return glob(pattern, v) || glob(pattern.toLowerCase(), v.toLowerCase());
    if (Array.isArray(v)) return v.some((item) => configMatches(pattern, item));
    if (v === null || v === undefined || typeof v === 'object') return false;
    return glob(pattern, JSON.stringify(v));
  }

  // Breadth-first, as Dag::walk: `max` edges away at most (all when null).
  function walk(uid, key, max) {
    const seen = new Set();
    const visited = new Set([uid]);
    const queue = [[uid, 0]];
    while (queue.length) {
      const [at, d] = queue.shift();
      if (max !== null && d >= max) continue;
      for (const next of BY_UID.get(at)[key]) {
        if (!visited.has(next)) {
          visited.add(next);
          seen.add(next);
          queue.push([next, d + 1]);
        }
      }
    }
    return seen;
  }

  function evaluateAtom(atom) {
    const base = ORDER.filter((n) => matches(atom, n)).map((n) => n.unique_id);
    const out = new Set(base);
    const add = (set) => set.forEach((u) => out.add(u));
    for (const uid of base) {
      if (atom.at) {
        for (const d of walk(uid, 'children', null)) {
          out.add(d);
          add(walk(d, 'parents', null));
        }
        add(walk(uid, 'parents', null));
      }
      if (atom.parents) add(walk(uid, 'parents', atom.parents.depth));
      if (atom.children) add(walk(uid, 'children', atom.children.depth));
    }
    return out;
  }

  // Space-separated terms are a union, comma-joined atoms an intersection. Returns the
  // picked unique ids, or null for an empty selector (everything).
  function select(text) {
    const terms = text.split(/\s+/).filter(Boolean);
    if (!terms.length) return null;
    const parsed = terms.map((t) => t.split(',').map(parseAtom));
    const out = new Set();
    for (const atoms of parsed) {
      let acc = null;
      for (const atom of atoms) {
        const picked = evaluateAtom(atom);
        acc = acc === null ? picked : new Set([...acc].filter((u) => picked.has(u)));
      }
      (acc || new Set()).forEach((u) => out.add(u));
    }
    return out;
  }

  // For tests and the console: the sources and models a selector picks, by name.
  window.pitwall = {
    select(text) {
      const picked = select(text);
      return DRAWN.filter((n) => picked === null || picked.has(n.unique_id)).map((n) => n.name).sort();
    },
  };

  // ---- sidebar -----------------------------------------------------------------------

  function sidebar() {
    const groups = new Map();
    for (const n of ORDER) {
      let group;
      if (n.resource_type === 'source') group = 'Sources / ' + n.fqn[0];
      else if (n.resource_type === 'model') group = 'Models / ' + n.fqn.slice(0, -1).join('.');
      else group = 'Tests';
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(n);
    }
    let html = '';
    for (const [group, members] of groups) {
      members.sort((a, b) => a.name.localeCompare(b.name));
      html += '<div class="group"><h4>' + esc(group) + '</h4><ul>' + members.map((n) =>
        '<li data-uid="' + esc(n.unique_id) + '"><a href="' + esc(href(n)) + '" title="' + esc(n.name) +
        '"><span class="swatch" style="background:' + esc(n.color) + '"></span> ' + esc(n.name) + '</a></li>').join('') +
        '</ul></div>';
    }
    document.getElementById('node-list').innerHTML = html;
  }

  // Where a node mentions a text: its name, description, a column (name or description)
  // or its SQL. Lower-cased once, on first search.
  let HAYSTACKS = null;
  function haystacks() {
    if (HAYSTACKS) return HAYSTACKS;
    HAYSTACKS = new Map(ORDER.map((n) => [n.unique_id, [
      ['name', n.name],
      ['description', n.description || ''],
      ...(n.columns || []).map((c) => ['column ' + c.name, c.name + ' ' + (c.description || '')]),
      ['SQL', (n.raw_code || '') + '\n' + (n.compiled_code || '')],
    ].map(([where, text]) => [where, text.toLowerCase()])]));
    return HAYSTACKS;
  }
  // The places `needle` (lower case) is found in node `n`.
  function hits(n, needle) {
    return haystacks().get(n.unique_id).filter(([, text]) => text.includes(needle)).map(([where]) => where);
  }

  function search(text) {
    const needle = text.trim().toLowerCase();
    for (const group of document.querySelectorAll('#node-list .group')) {
      let shown = 0;
      for (const li of group.querySelectorAll('li')) {
        const node = BY_UID.get(li.dataset.uid);
        const hit = !needle || (node && hits(node, needle).length > 0);
        li.hidden = !hit;
        if (hit) shown++;
      }
      group.hidden = shown === 0;
    }
  }

  // ---- pages -------------------------------------------------------------------------

  function searchPage(text) {
    const needle = text.trim().toLowerCase();
    const found = needle ? ORDER.map((n) => [n, hits(n, needle)]).filter(([, where]) => where.length) : [];
    let html = '<h1>Search</h1><p class="muted" id="search-summary">' + found.length + ' node' + (found.length === 1 ? '' : 's') +
      ' mention <code>' + esc(text.trim()) + '</code> in a name, description, column or SQL.</p>' +
      (FOLDED ? inGraph(found.map(([n]) => n)) : '') + '<ul class="search-results">';
    for (const [n, where] of found) {
      html += '<li data-uid="' + esc(n.unique_id) + '">' + link(n) + ' <span class="muted">' + esc(n.resource_type) + ': ' + esc(where.join(', ')) + '</span></li>';
    }
    return html + '</ul>';
  }

  // A link to the graph filtered to the sources and models among `found`: the filter
  // opens the folders they are in (a folded graph's search hits stay visible there).
  function inGraph(found) {
    const terms = found.filter((n) => n.resource_type !== 'test').map((n) =>
      n.resource_type === 'source' ? 'source:' + n.source_name + '.' + n.table_name : n.name);
    if (!terms.length) return '';
    return '<p><a id="search-in-graph" href="#/graph?select=' + encodeURIComponent(terms.join(' ')) + '">Show ' +
      (terms.length === 1 ? 'it' : 'these ' + terms.length) + ' in the lineage graph</a></p>';
  }

  function overview() {
    const p = DATA.project;
    const count = (type) => ORDER.filter((n) => n.resource_type === type).length;
    let html = '<h1>' + esc(p.name) + '</h1><p class="muted">Target <code>' + esc(p.target) + '</code>, warehouse <code>' +
      esc(p.warehouse) + '</code>; generated ' + esc(p.generated_at) + ' by pitwall ' + esc(p.version) + '.</p>';
    html += '<div class="stats">' + ['model', 'source', 'test'].map((t) =>
      '<div class="stat" id="count-' + t + 's"><span class="num">' + count(t) + '</span>' + t + 's</div>').join('') + '</div>';
    html += '<h2>Last run</h2>';
    const run = DATA.run;
    if (run) {
      html += '<p><code>pitwall ' + esc(run.command) + (run.select && run.select.length ? ' -s ' + esc(run.select.join(' ')) : '') +
        '</code> on target <code>' + esc(run.target) + '</code>, finished ' + esc(run.generated_at) + ' in ' + seconds(run.elapsed) + '.</p>';
      html += '<ul class="run-counts" id="run-counts">' + Object.entries(run.counts).map(([s, n]) =>
        '<li class="status-' + esc(s) + '" data-status="' + esc(s) + '">' + esc(s) + ': ' + n + '</li>').join('') + '</ul>';
      html += '<ul class="plain" id="run-by-type">' + Object.entries(run.by_type || {}).map(([type, counts]) =>
        '<li data-type="' + esc(type) + '">' + esc(type) + 's: ' + tally(counts) + '</li>').join('') + '</ul>';
    } else {
      html += '<p class="muted">No run_results.json in the target path yet: run <code>pitwall build</code>, then <code>pitwall docs generate</code>.</p>';
    }
    html += '<h2>Folders</h2><table class="grid"><thead><tr><th>Folder</th><th>Models</th><th>Materialized</th><th>Colour</th></tr></thead><tbody>';
    const folders = new Map();
    for (const n of ORDER.filter((n) => n.resource_type === 'model')) {
      const key = n.fqn.slice(0, -1).join('.');
      if (!folders.has(key)) folders.set(key, []);
      folders.get(key).push(n);
    }
    for (const [folder, members] of folders) {
      const kinds = [...new Set(members.map((m) => m.materialized))].join(', ');
      html += '<tr><td><a href="#/graph?select=' + encodeURIComponent(folder) + '">' + esc(folder) + '</a></td><td>' +
        members.map(link).join(', ') + '</td><td>' + esc(kinds) + '</td><td><span class="swatch" style="background:' +
        esc(members[0].color) + '"></span> ' + esc(members[0].node_color || '') + '</td></tr>';
    }
    html += '</tbody></table><p><a href="#/graph">The whole lineage graph</a> · <a href="#/charts">Charts of the answers</a></p>';
    return html;
  }

  function runFacts(run, type) {
    if (!run) return [['Last run', '<span class="muted">not in the last run</span>']];
    const rows = run.rows !== null && run.rows !== undefined ? run.rows + ' rows' : '';
    const failures = typeof run.failures === 'number' && run.failures > 0 ? run.failures + ' failing rows' : '';
    return [
      ['Last run', status(run.status) + ' ' + esc([rows, failures, seconds(run.time)].filter(Boolean).join(', ')) +
        (run.started_at ? ' <span class="muted">(' + esc(run.started_at) + ')</span>' : '')],
      run.built_at ? [capitalized(builtVerb(run, type)), when(run.built_at)] : ['Built', ''],
      ['Message', esc(run.message)],
    ];
  }

  // An upstream column ({relation, column, kind}), linked to its node's page.
  function columnLink(ref) {
    const node = BY_ROUTE.get(ref.kind + '/' + ref.relation);
    const relation = node ? link(node) : esc(ref.relation);
    return relation + '.<code>' + esc(ref.column) + '</code>';
  }

  function columnsTable(node) {
    const cols = node.columns || [];
    if (!cols.length) return '<p class="muted">No columns known.</p>';
    const lineage = DATA.project.column_lineage;
    let html = '<table class="grid columns"><thead><tr><th>Column</th><th>Type</th><th>Description</th><th>Tests</th>' +
      (lineage ? '<th>Upstream columns</th>' : '') + '</tr></thead><tbody>';
    for (const c of cols) {
      const tests = c.tests.map((t) => BY_ROUTE.get('test/' + t)).filter(Boolean).map((t) =>
        '<a href="' + esc(href(t)) + '" title="' + esc(t.name) + '">' + esc(t.test_name || t.name) + '</a>').join(', ');
      html += '<tr data-column="' + esc(c.name) + '"><td><code>' + esc(c.name) + '</code></td><td><code>' + esc(c.type) +
        '</code></td><td>' + (c.description_html || '') + '</td><td>' + tests + '</td>' +
        (lineage ? '<td class="upstream">' + (c.upstream || []).map(columnLink).join('<br>') + '</td>' : '') + '</tr>';
    }
    html += '</tbody></table>';
    if (!lineage) return html + '<p class="muted">Column lineage could not be computed (see the warnings of pitwall docs generate).</p>';
    if (node.lineage_note) html += '<p class="muted">Column lineage: ' + esc(node.lineage_note) + '.</p>';
    if (node.row_inputs && node.row_inputs.length) {
      html += '<p class="muted">Rows decided by (WHERE, JOIN ON, GROUP BY, HAVING): ' + node.row_inputs.map(columnLink).join(', ') + '</p>';
    }
    return html;
  }

  // Parents, the node, children: three columns of links.
  function miniLineage(node) {
    const left = nodes(node.parents).filter((n) => n.resource_type !== 'test');
    const right = nodes(node.children).filter((n) => n.resource_type !== 'test');
    // As wide as the longest name (12px monospace), as the full graph's nodes.
    const longest = Math.max(...left.concat([node], right).map((n) => n.name.length));
    const w = Math.max(160, Math.ceil(longest * 7.3 + 18)), h = 26, gap = 10, colGap = 70;
    const rows = Math.max(left.length, right.length, 1);
    const height = rows * (h + gap) + gap;
    const width = 3 * w + 2 * colGap + 20;
    const place = (list, col) => list.map((n, i) => ({
      n, x: 10 + col * (w + colGap), y: gap + (height - gap - list.length * (h + gap)) / 2 + i * (h + gap),
    }));
    const l = place(left, 0), c = place([node], 1), r = place(right, 2);
    const edge = (a, b) => {
      const x1 = a.x + w, y1 = a.y + h / 2, x2 = b.x, y2 = b.y + h / 2, mid = (x1 + x2) / 2;
      return '<path class="edge" d="M ' + x1 + ' ' + y1 + ' C ' + mid + ' ' + y1 + ', ' + mid + ' ' + y2 + ', ' + x2 + ' ' + y2 + '"/>';
    };
    const box = (p) => '<g class="mini-node' + (p.n === node ? ' current' : '') + '" data-href="' + esc(href(p.n)) +
      '" data-name="' + esc(p.n.name) + '" transform="translate(' + p.x + ' ' + p.y + ')"><title>' + esc(p.n.name) +
      '</title><rect width="' + w + '" height="' + h + '" rx="5" fill="' + esc(p.n.color) + '"/><text x="8" y="' +
      (h / 2 + 4) + '">' + esc(p.n.name) + '</text></g>';
    return '<svg class="mini" viewBox="0 0 ' + width + ' ' + height + '" width="' + width + '" height="' + height + '">' +
      l.map((p) => edge(p, c[0])).join('') + r.map((p) => edge(c[0], p)).join('') +
      l.concat(c, r).map(box).join('') + '</svg>';
  }

  function testsList(node) {
    const tests = nodes(node.children).filter((n) => n.resource_type === 'test');
    if (!tests.length) return '<p class="muted">No tests.</p>';
    const item = (t) => {
      const run = t.run || {};
      const on = t.column_name ? ' <span class="muted">on ' + esc(t.column_name) + '</span>' : '';
      const last = run.built_at ? ' <span class="muted">· ' + builtVerb(run, 'test') + ' ' + when(run.built_at) + '</span>' : '';
      return '<li data-test="' + esc(t.name) + '">' + status(run.status) + ' ' + link(t) + on + last + '</li>';
    };
    return '<ul class="plain">' + tests.map(item).join('') + '</ul>';
  }

  function header(node) {
    return '<h1><span class="swatch" style="background:' + esc(node.color) + '"></span>' + esc(node.name) +
      ' <span class="badge">' + esc(node.resource_type) + '</span></h1>';
  }

  function description(node) {
    return '<h2>Description</h2><div class="description">' +
      (node.description_html || '<p class="muted">No description.</p>') + '</div>';
  }

  function modelPage(node) {
    const lang = node.language === 'rust' ? 'Rust' : 'SQL';
    return header(node) + facts([
      ['Materialization', esc(node.materialized)],
      ['Language', esc(lang)],
      ['Tags', node.tags.map((t) => '<a href="#/graph?select=' + encodeURIComponent('tag:' + t) + '">' + esc(t) + '</a>').join(', ')],
      ['Node colour', node.node_color ? '<span class="swatch" style="background:' + esc(node.color) + '"></span> ' + esc(node.node_color) : ''],
      ['Relation', '<code>' + esc(node.relation_name) + '</code>'],
      ['Defined in', '<code>' + esc(node.path) + '</code>'],
    ].concat(runFacts(node.run, 'model'))) + description(node) +
      '<h2>Columns</h2>' + columnsTable(node) +
      '<h2>Lineage</h2><p class="muted"><a href="#/graph?select=' + encodeURIComponent('+' + node.name + '+') +
      '">In the full graph</a></p>' + miniLineage(node) +
      '<h2>Tests</h2>' + testsList(node) +
      '<h2>Code</h2>' + code(lang === 'Rust' ? 'Source (Rust)' : 'Source', node.raw_code, true) +
      code('Compiled SQL', node.compiled_code, false);
  }

  function sourcePage(node) {
    return header(node) + facts([
      ['Source', esc(node.source_name)],
      ['Table', esc(node.table_name)],
      ['Relation', '<code>' + esc(node.relation_name) + '</code>'],
      ['Loaded from', '<code>' + esc(node.location) + '</code>'],
      ['Loader', esc(node.loader)],
      ['Declared in', '<code>' + esc(node.path) + '</code>'],
    ]) + description(node) + '<h2>Columns</h2>' + columnsTable(node) +
      '<h2>Lineage</h2>' + miniLineage(node) + '<h2>Tests</h2>' + testsList(node);
  }

  function testPage(node) {
    const attached = BY_UID.get(node.attached_node);
    const kwargs = Object.entries(node.kwargs || {}).map(([k, v]) => esc(k) + ' = <code>' + esc(v) + '</code>').join(', ');
    return header(node) + facts([
      ['Test', node.test_name ? 'generic: <code>' + esc(node.test_name) + '</code>' : 'singular'],
      ['On', attached ? link(attached) + (node.column_name ? ', column <code>' + esc(node.column_name) + '</code>' : '') : ''],
      ['Arguments', kwargs],
      ['Severity', esc(node.severity)],
      ['Reads', nodes(node.parents).map(link).join(', ')],
      ['Defined in', '<code>' + esc(node.path) + '</code>'],
    ].concat(runFacts(node.run, 'test'))) + '<h2>Code</h2>' + code('Source', node.raw_code, true) +
      code('Compiled SQL (returns the failing rows)', node.compiled_code, true);
  }

  // ---- graph -------------------------------------------------------------------------

  // The unique ids the graph filter last picked; null for everything.
  let PICKED = null;

  function applySelection(text) {
    const statusLine = document.getElementById('select-status');
    try {
      PICKED = select(text);
      statusLine.className = 'muted';
    } catch (e) {
      statusLine.textContent = e.message;
      statusLine.className = 'error';
      return;
    }
    if (FOLDED) revealPicked();
    const shown = dim();
    const folders = FOLDED ? ' in ' + FOLDERS.length + ' folders: click a folder to unfold it' : '';
    const all = DRAWN.length + ' nodes';
    statusLine.textContent = PICKED === null ? all + folders : shown + ' of ' + all + ' match';
  }

  // Dims what the filter leaves out: nodes, folders it picks none of, and edges with a
  // dimmed end. Returns how many nodes it picks.
  function dim() {
    let shown = 0;
    const dimmed = new Set();
    for (const g of document.querySelectorAll('svg.lineage g.node')) {
      const node = BY_ROUTE.get(g.dataset.type + '/' + g.dataset.name);
      const on = PICKED === null || (node && PICKED.has(node.unique_id));
      g.classList.toggle('dim', !on);
      if (on) shown++;
      else dimmed.add(g.dataset.name);
    }
    const dimmedFolders = new Set();
    for (const f of FOLDERS) {
      const off = !f.querySelector('g.node:not(.dim)');
      f.querySelector('.folder-node').classList.toggle('dim', off);
      if (off) dimmedFolders.add(f.dataset.folder);
    }
    for (const e of document.querySelectorAll('svg.lineage path.edge')) {
      const d = e.dataset;
      e.classList.toggle('dim', dimmed.has(d.from) || dimmed.has(d.to) ||
        dimmedFolders.has(d.fromFolder) || dimmedFolders.has(d.toFolder));
    }
    return shown;
  }

  // ---- zoom and pan: the SVG's viewBox, so nodes stay crisp at every scale ----------

  const SVG = document.querySelector('svg.lineage');
  const FULL = SVG ? SVG.viewBox.baseVal : null;
  // The whole graph: a folded graph's grows and shrinks as folders open and close.
  let WHOLE = FULL ? { x: FULL.x, y: FULL.y, w: FULL.width, h: FULL.height } : null;
  let view = WHOLE && { ...WHOLE };

  function setView(next) {
    // Never smaller than a few nodes' width, never much larger than the whole graph.
    const w = Math.min(Math.max(next.w, WHOLE.w / 40), WHOLE.w * 1.2);
    const h = w * WHOLE.h / WHOLE.w;
    view = { x: next.x + (next.w - w) / 2, y: next.y + (next.h - h) / 2, w, h };
    SVG.setAttribute('viewBox', [view.x, view.y, view.w, view.h].map((v) => v.toFixed(1)).join(' '));
    SVG.dataset.zoom = (WHOLE.w / view.w).toFixed(2);
  }

  // Zooms to `factor` times the whole graph, centred.
  function zoomTo(factor) {
    if (!SVG) return;
    const w = WHOLE.w / factor;
    const h = WHOLE.h / factor;
    setView({ x: WHOLE.x + (WHOLE.w - w) / 2, y: WHOLE.y + (WHOLE.h - h) / 2, w, h });
  }

  // Zooms by `by` keeping the graph point under (px, py) (fractions of the view) in place.
  function zoomAt(by, px, py) {
    const w = view.w / by;
    const h = view.h / by;
    setView({ x: view.x + (view.w - w) * px, y: view.y + (view.h - h) * py, w, h });
  }

  function zoomEvents() {
    if (!SVG) return;
    SVG.addEventListener('wheel', (e) => {
      e.preventDefault();
      const box = SVG.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, (e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height);
    }, { passive: false });
    let drag = null;
    SVG.addEventListener('pointerdown', (e) => {
      if (e.target.closest('g.node, .folder-node, .folder-head')) return;
      drag = { x: e.clientX, y: e.clientY, from: { ...view } };
      SVG.setPointerCapture(e.pointerId);
    });
    SVG.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const box = SVG.getBoundingClientRect();
      const scale = view.w / box.width;
      setView({ ...drag.from, x: drag.from.x - (e.clientX - drag.x) * scale, y: drag.from.y - (e.clientY - drag.y) * scale });
    });
    SVG.addEventListener('pointerup', () => { drag = null; });
    document.getElementById('zoom-in').addEventListener('click', () => zoomAt(1.5, 0.5, 0.5));
    document.getElementById('zoom-out').addEventListener('click', () => zoomAt(1 / 1.5, 0.5, 0.5));
    document.getElementById('zoom-fit').addEventListener('click', () => zoomTo(1));
  }

  // ---- folders: a big project's graph starts folded (graph/folds.rs draws a node per
  // folder, with the folder's own picture hidden inside). Opening one shows that picture
  // and re-stacks the columns of folders (`pack`); only edges between folders are drawn
  // here, so no click lays out a node, however many folders are open. ----------------

  const FOLDERS = SVG ? [...SVG.querySelectorAll('g.folder')] : [];
  const FOLDED = FOLDERS.length > 0;
  const FOLDER_OF = new Map(); // unique id -> its folder's <g>
  const NODE_G = new Map(); // unique id -> its node's <g>
  const LOCAL = new Map(); // unique id -> its node's corner in its open folder
  const CROSSING = []; // [from, to] unique ids of every edge between two folders
  const POSITION = new Map(); // folder <g> -> its corner as stacked now
  // Why a folder is open: the user opened it, the filter picks a node in it, or the page
  // shown last is of a node in it (`focus`); `closed`: the user folded it since.
  const FOLDS = { open: new Set(), picked: new Set(), focus: null, closed: new Set() };

  function indexFolders() {
    for (const f of FOLDERS) {
      POSITION.set(f, translation(f));
      for (const g of f.querySelectorAll('g.node')) {
        const node = BY_ROUTE.get(g.dataset.type + '/' + g.dataset.name);
        if (!node) continue;
        FOLDER_OF.set(node.unique_id, f);
        NODE_G.set(node.unique_id, g);
        LOCAL.set(node.unique_id, translation(g));
      }
    }
    for (const n of DRAWN) {
      for (const p of n.parents) {
        const from = FOLDER_OF.get(p);
        if (from && from !== FOLDER_OF.get(n.unique_id)) CROSSING.push([p, n.unique_id]);
      }
    }
  }

  // An element's `translate(x y)`, which graph.rs places every node and folder with.
  function translation(el) {
    const m = /translate\(([-\d.]+)[ ,]+([-\d.]+)\)/.exec(el.getAttribute('transform') || '');
    return m ? { x: Number(m[1]), y: Number(m[2]) } : { x: 0, y: 0 };
  }

  function isOpen(f) {
    const key = f.dataset.folder;
    const focused = FOLDS.focus !== null && FOLDER_OF.get(FOLDS.focus) === f;
    return !FOLDS.closed.has(key) && (FOLDS.open.has(key) || FOLDS.picked.has(key) || focused);
  }

  // Shows each folder open or folded as FOLDS says, re-stacks them and redraws the edges
  // between them (the caller dims). `anchor`, a folder clicked, stays put on the screen.
  function refold(anchor) {
    const changed = FOLDERS.filter((f) => f.classList.contains('open') !== isOpen(f));
    if (!changed.length) return;
    for (const f of changed) f.classList.toggle('open');
    const before = anchor && POSITION.get(anchor);
    const was = { ...view };
    pack();
    drawCrossing();
    if (before) {
      // The box grows or shrinks at its bottom: the same scale and top edge keep the
      // folder where it was on the screen.
      const after = POSITION.get(anchor);
      const h = was.w * WHOLE.h / WHOLE.w;
      setView({ x: was.x + after.x - before.x, y: was.y + after.y - before.y, w: was.w, h });
    }
  }

  // Stacks the folders column by column (`data-layer`; graph.rs writes each column's
  // top to bottom), a folded one as a node, an open one at its picture's size, each
  // column centred on the tallest: with all folded, where graph.rs put them.
  function pack() {
    const d = SVG.dataset;
    const [nw, nh, gx, gy, margin] = [d.nodeWidth, d.nodeHeight, d.gapX, d.gapY, d.margin].map(Number);
    const size = (f) => (f.classList.contains('open') ? [Number(f.dataset.width), Number(f.dataset.height)] : [nw, nh]);
    const columns = [];
    for (const f of FOLDERS) {
      const layer = Number(f.dataset.layer);
      while (columns.length <= layer) columns.push([]);
      columns[layer].push(f);
    }
    const heights = columns.map((column) => column.reduce((h, f) => h + size(f)[1] + gy, -gy));
    const tallest = Math.max(...heights);
    let x = margin;
    columns.forEach((column, i) => {
      let y = margin + (tallest - heights[i]) / 2;
      for (const f of column) {
        POSITION.set(f, { x, y });
        f.setAttribute('transform', 'translate(' + x.toFixed(1) + ' ' + y.toFixed(1) + ')');
        y += size(f)[1] + gy;
      }
      x += Math.max(nw, ...column.map((f) => size(f)[0])) + gx;
    });
    SVG.setAttribute('width', (x - gx + margin).toFixed(0));
    SVG.setAttribute('height', (tallest + 2 * margin).toFixed(0));
    fitWhole();
    setView(view);
  }

  // The zoom's whole graph (WHOLE): the graph's bounds (the SVG's width and height),
  // widened or heightened to the shape of the SVG's box, so that views keep the box's
  // shape. The box's height is capped (80vh), and a folded graph changes shape as folders
  // open; while the graph is hidden, the bounds as they are.
  function fitWhole() {
    const [w, h] = [Number(SVG.getAttribute('width')), Number(SVG.getAttribute('height'))];
    const box = SVG.getBoundingClientRect();
    const shape = box.width > 0 && box.height > 0 ? box.height / box.width : h / w;
    const fit = { w: Math.max(w, h / shape), h: Math.max(w, h / shape) * shape };
    WHOLE = { x: (w - fit.w) / 2, y: (h - fit.h) / 2, w: fit.w, h: fit.h };
  }

  // Where an edge meets node `uid`: the node, or its folder while that is folded.
  function end(uid) {
    const f = FOLDER_OF.get(uid);
    const at = POSITION.get(f);
    if (!f.classList.contains('open')) {
      const key = esc(f.dataset.folder);
      return { from: 'data-from-folder="' + key + '"', to: 'data-to-folder="' + key + '"', x: at.x, y: at.y };
    }
    const name = esc(BY_UID.get(uid).name);
    const local = LOCAL.get(uid);
    return { from: 'data-from="' + name + '"', to: 'data-to="' + name + '"', x: at.x + local.x, y: at.y + local.y };
  }

  // The edges between folders as they stand: a folded folder stands for its nodes, so
  // their edges to one end are one edge. (The edges inside a folder are graph.rs's.)
  function drawCrossing() {
    const nw = Number(SVG.dataset.nodeWidth);
    const half = Number(SVG.dataset.nodeHeight) / 2;
    const drawn = new Set();
    let html = '';
    for (const [from, to] of CROSSING) {
      const a = end(from);
      const b = end(to);
      if (drawn.has(a.from + b.to)) continue;
      drawn.add(a.from + b.to);
      const [x1, y1, x2, y2] = [a.x + nw, a.y + half, b.x, b.y + half].map((v) => v.toFixed(1));
      const mid = ((a.x + nw + b.x) / 2).toFixed(1);
      html += '<path class="edge" ' + a.from + ' ' + b.to + ' d="M ' + x1 + ' ' + y1 + ' C ' + mid + ' ' + y1 + ', ' +
        mid + ' ' + y2 + ', ' + x2 + ' ' + y2 + '" marker-end="url(#arrow)"/>';
    }
    SVG.querySelector('g.between-folders').innerHTML = html;
  }

  function toggle(f) {
    const key = f.dataset.folder;
    if (isOpen(f)) {
      FOLDS.open.delete(key);
      FOLDS.closed.add(key);
    } else {
      FOLDS.closed.delete(key);
      FOLDS.open.add(key);
    }
    refold(f);
    dim();
  }

  // The filter's picks are shown: their folders open; a folder the user folded stays
  // folded until the picks change.
  function revealPicked() {
    const uids = [...(PICKED || [])].filter((u) => FOLDER_OF.has(u));
    const picked = new Set(uids.map((u) => FOLDER_OF.get(u).dataset.folder));
    if ([...picked].join('\n') !== [...FOLDS.picked].join('\n')) FOLDS.closed.clear();
    FOLDS.picked = picked;
    refold();
  }

  // A node's page (a deep link, a search hit, the sidebar) opens its folder and outlines
  // the node, so it is in the graph when the user turns to it.
  function focusNode(node) {
    if (!FOLDER_OF.has(node.unique_id)) return;
    if (FOLDS.focus) NODE_G.get(FOLDS.focus).classList.remove('focus');
    FOLDS.focus = node.unique_id;
    NODE_G.get(node.unique_id).classList.add('focus');
    FOLDS.closed.delete(FOLDER_OF.get(node.unique_id).dataset.folder);
    refold();
    dim();
  }

  // The box also changes shape after a fold is laid out (a page scrollbar comes or goes)
  // and with the window: the view follows, keeping its scale and top edge.
  function followBox() {
    new ResizeObserver(() => {
      fitWhole();
      setView({ ...view, h: view.w * WHOLE.h / WHOLE.w });
    }).observe(SVG);
  }

  // Zooms to what the filter picks, else to the node of the page shown last, else to
  // the whole graph: in a big graph a revealed node is otherwise a speck.
  function frame() {
    const uids = PICKED !== null ? [...PICKED] : FOLDS.focus ? [FOLDS.focus] : [];
    const ends = uids.filter((u) => FOLDER_OF.has(u)).map(end);
    if (!ends.length) return zoomTo(1);
    const pad = 40;
    const x0 = Math.min(...ends.map((e) => e.x)) - pad;
    const y0 = Math.min(...ends.map((e) => e.y)) - pad;
    const x1 = Math.max(...ends.map((e) => e.x)) + Number(SVG.dataset.nodeWidth) + pad;
    const y1 = Math.max(...ends.map((e) => e.y)) + Number(SVG.dataset.nodeHeight) + pad;
    // setView keeps the width (clamped), takes the height from WHOLE's shape, and centres.
    const w = Math.max(x1 - x0, (y1 - y0) * WHOLE.w / WHOLE.h);
    setView({ x: (x0 + x1 - w) / 2, y: y0, w, h: y1 - y0 });
  }

  // Each drawn node's last status (run_results.json), as `data-status` for the style; a
  // folder's is its worst node's, so a folded failure still shows.
  function statuses() {
    for (const g of document.querySelectorAll('svg.lineage g.node')) {
      const node = BY_ROUTE.get(g.dataset.type + '/' + g.dataset.name);
      if (node && node.run && node.run.status) g.dataset.status = node.run.status;
    }
    const worst = ['error', 'fail', 'warn', 'skipped'];
    for (const f of FOLDERS) {
      const found = worst.find((s) => f.querySelector('g.node[data-status="' + s + '"]'));
      if (found) f.querySelector('.folder-node').dataset.status = found;
    }
  }

  function graphEvents() {
    const input = document.getElementById('select');
    input.addEventListener('input', () => {
      applySelection(input.value);
      if (FOLDED) frame();
      const query = input.value.trim() ? '?select=' + encodeURIComponent(input.value.trim()) : '';
      // The hash records the filter for links and reloads without re-rendering the page.
      history.replaceState(null, '', '#/graph' + query);
    });
    document.getElementById('graph-filter').addEventListener('submit', (e) => e.preventDefault());
    const open = (g) => {
      const node = BY_ROUTE.get(g.dataset.type + '/' + g.dataset.name);
      if (node) location.hash = href(node);
    };
    for (const g of document.querySelectorAll('svg.lineage g.node')) {
      g.addEventListener('click', () => open(g));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(g); });
    }
    for (const g of document.querySelectorAll('svg.lineage .folder-node, svg.lineage .folder-head')) {
      const folder = g.closest('g.folder');
      g.addEventListener('click', () => toggle(folder));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') toggle(folder); });
    }
  }

  // ---- routing -----------------------------------------------------------------------

  // `model.fct_results`, `source.formula1.races`, `test.NAME` or a unique id, as a route;
  // any other hash (a route, with its still-encoded query) as it is.
  function deepLink(hash) {
    if (hash.startsWith('/')) return hash;
    let text;
    try {
      text = decodeURIComponent(hash);
    } catch (e) {
      return hash;
    }
    const byUid = BY_UID.get(text);
    if (byUid) return href(byUid).replace(/^#/, '');
    const m = /^(model|source|test)\.(.+)$/.exec(text);
    return m && BY_ROUTE.has(m[1] + '/' + m[2]) ? '/' + m[1] + '/' + encodeURIComponent(m[2]) : hash;
  }

  function route() {
    const hash = deepLink(location.hash.replace(/^#/, ''));
    const q = hash.indexOf('?');
    const path = q >= 0 ? hash.slice(0, q) : hash;
    const params = new URLSearchParams(q >= 0 ? hash.slice(q + 1) : '');
    let parts;
    try {
      parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch (e) {
      parts = [];
    }
    return { parts, params };
  }

  function show(view) {
    for (const id of ['page', 'graph-view', 'charts-view']) document.getElementById(id).hidden = id !== view;
  }

  function render() {
    const { parts, params } = route();
    const page = document.getElementById('page');
    const kind = parts[0];
    for (const a of document.querySelectorAll('#node-list a')) a.classList.toggle('current', a.getAttribute('href') === location.hash);
    if (kind === 'graph') {
      show('graph-view');
      const input = document.getElementById('select');
      input.value = params.get('select') || '';
      if (FOLDED) fitWhole();
      applySelection(input.value);
      if (FOLDED && !params.get('zoom')) frame();
      else zoomTo(Number(params.get('zoom')) || 1);
      document.title = DATA.project.name + ' docs: lineage';
      return;
    }
    if (kind === 'charts') {
      show('charts-view');
      document.title = DATA.project.name + ' docs: charts';
      return;
    }
    show('page');
    if (kind === 'search') {
      page.innerHTML = searchPage(params.get('q') || '');
      page.dataset.route = 'search';
      document.title = DATA.project.name + ' docs: search';
      return;
    }
    const node = kind ? BY_ROUTE.get(kind + '/' + parts.slice(1).join('/')) : null;
    if (!kind) page.innerHTML = overview();
    else if (!node) page.innerHTML = '<h1>Not found</h1><p class="missing">No ' + esc(kind) + ' named <code>' + esc(parts.slice(1).join('/')) + '</code> in this project.</p>';
    else if (node.resource_type === 'model') page.innerHTML = modelPage(node);
    else if (node.resource_type === 'source') page.innerHTML = sourcePage(node);
    else page.innerHTML = testPage(node);
    page.dataset.route = node ? node.unique_id : kind || 'overview';
    if (FOLDED && node) focusNode(node);
    document.title = DATA.project.name + ' docs' + (node ? ': ' + node.name : '');
    window.scrollTo(0, 0);
  }

  sidebar();
  document.getElementById('search').addEventListener('input', (e) => search(e.target.value));
  document.getElementById('search').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    if (e.target.value.trim()) location.hash = '#/search?q=' + encodeURIComponent(e.target.value.trim());
  });
  document.addEventListener('click', (e) => {
    const target = e.target.closest('[data-href]');
    if (target) location.hash = target.dataset.href;
  });
  if (FOLDED) {
    indexFolders();
    followBox();
  }
  graphEvents();
  zoomEvents();
  statuses();
  window.addEventListener('hashchange', render);
  render();
  document.body.dataset.ready = 'true';
})();
