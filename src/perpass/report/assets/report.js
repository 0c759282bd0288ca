"use strict";
// perpass report: renders the JSON in #perpass-data. No library, no network: every node is built with
// h() (text goes in as text, never as HTML, because transcripts hold arbitrary model output).
(function () {
  const DATA = JSON.parse(document.getElementById("perpass-data").textContent);
  let transcripts = null; // parsed on first use: most readers never open one
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#d6336c", "#0c8599", "#f08c00", "#5c7cfa",
    "#495057", "#a61e4d"];
  const modelColor = {};
  [...new Set(DATA.routes.map((r) => r.model_key))].forEach((m, i) => { modelColor[m] = PALETTE[i % PALETTE.length]; });
  const routeByLabel = Object.fromEntries(DATA.routes.map((r) => [r.label, r]));

  function h(tag, props, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === "class") node.setAttribute("class", v);
      else node.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }
  const body = (id) => document.querySelector(`#${id} .body`);

  // ---------- numbers ----------
  const money = perpassMoney; // format.js: the same rules as the cards (perpass.analysis.money)
  const rate = (x) => (x === null || x === undefined ? "—" : x.toFixed(2));
  const ci = (c, f) => (c && c.length === 2 && c[0] !== null ? `[${f(c[0])}, ${f(c[1])}]` : "");
  const moneyCi = (c) => (c && c[0] !== null ? `[${money(c[0])}, ${money(c[1])}]` : "");
  const secs = (x) => (x === null || x === undefined ? "—" : x < 1 ? `${Math.round(x * 1000)} ms` : `${x.toFixed(2)} s`);
  const int = (x) => (x === null || x === undefined ? "—" : Number(x).toLocaleString("en-US"));
  const signed = (x, f) => (x === null || x === undefined ? "—" : (x >= 0 ? "+" : "−") + f(Math.abs(x)));
  const verdictBadge = (v) => h("span", { class: `badge ${v}` }, v);

  // ---------- links into the episode browser ----------
  function showEpisodes(filter) {
    browser.set(filter);
    document.getElementById("episodes").scrollIntoView({ behavior: "auto", block: "start" });
  }
  const epLink = (text, filter, title) =>
    h("a", { class: "link", title: title || "show these episodes", on: { click: (e) => { e.preventDefault(); showEpisodes(filter); } } }, text);

  // ---------- summary ----------
  function renderSummary() {
    const m = DATA.meta;
    const root = document.getElementById("summary");
    const failed = DATA.episodes.filter((e) => e.verdict === "fail").length;
    const passed = DATA.episodes.filter((e) => e.verdict === "pass").length;
    const infra = DATA.episodes.filter((e) => e.verdict === "infra").length;
    root.append(h("h1", { style: "font-size:22px;margin:18px 0 4px" }, "Which model to send coding-agent work to, by cost per pass"));
    root.append(h("div", { class: "meta" }, `store ${m.store} · generated ${m.generated_at} · minimum pass rate ${m.min_pass_rate} (lower bound, clustered by task) · `,
      `overheads: ${m.overheads.reviewer_minutes} reviewer min × $${m.overheads.reviewer_hourly}/h per failure, `,
      `$${m.overheads.false_done_drag} per false done, ${m.overheads.max_attempts} attempt(s) per task`));
    if (m.message) root.append(h("div", { class: `banner ${m.episodes ? "warn" : "empty"}`, id: "no-evidence" }, m.message,
      m.episodes ? "" : ". Run `perpass run PLAN` (or `perpass demo`), then `perpass report` again."));
    if (m.unfinished) root.append(h("div", { class: "banner warn" }, `${m.unfinished} episode(s) were started but not finished (a run was interrupted): they are not counted. Run the plan again to finish them.`));
    if (m.untrusted_runs) root.append(h("div", { class: "banner warn" }, `${m.untrusted_runs} run(s) used fewer than 3 repeats: a single run is not to be trusted.`));
    const stat = (v, label) => h("div", { class: "stat" }, h("b", {}, v), h("span", {}, label));
    root.append(h("div", { class: "stats" }, stat(int(m.episodes), "finished episodes"), stat(int(passed), "passed"),
      stat(int(failed), "failed"), stat(int(infra), "infra (not counted)"), stat(int(m.routes), "routes (model × config)"),
      stat(int(m.tasks), "tasks")));
  }

  function emptySection(id, text) { body(id).append(h("p", { class: "note" }, text)); }

  // ---------- decision ----------
  function renderDecision() {
    const tiers = Object.entries(DATA.tiers);
    if (!tiers.length) return emptySection("decision", "No decision: there is no finished episode.");
    const rows = tiers.map(([tier, t]) => {
      const primary = t.primary ? epLink(t.primary, { route: t.primary, tier }) : h("span", { class: "badge fail" }, "no route");
      const cascade = t.cascade ? h("span", {}, epLink(t.cascade.first, { route: t.cascade.first, tier }), " → ",
        epLink(t.cascade.then, { route: t.cascade.then, tier }),
        h("div", { class: "note" }, `${money(t.cascade.cost_per_pass)} ${moneyCi(t.cascade.ci)} per pass, pass rate ${rate(t.cascade.pass_rate)}${t.cascade.beats_primary ? " — cheaper than the primary" : ""}`)) : "—";
      return h("tr", {}, h("td", {}, h("b", {}, tier)), h("td", {}, primary),
        h("td", { class: "num" }, t.primary ? money(t.cost_per_pass) : "—", h("div", { class: "note" }, moneyCi(t.ci))),
        h("td", { class: "num" }, rate(t.pass_rate), h("div", { class: "note" }, ci(t.pass_ci, rate))),
        h("td", {}, t.fallback ? epLink(t.fallback, { route: t.fallback, tier }) : "—"), h("td", {}, cascade),
        h("td", { class: "note" }, t.reason || ""));
    });
    body("decision").append(
      h("p", { class: "note" }, "Per tier, the cheapest route per pass among those whose pass-rate lower bound meets the minimum; intervals are 95 %, clustered by task (studentized bootstrap over tasks for cost, Wilson on effective episodes for pass rate). Click a route for its episodes."),
      h("table", { id: "decision-table" }, h("thead", {}, h("tr", {}, ["tier", "primary", "cost per pass", "pass rate", "fallback", "best cascade (on failed work)", "why"].map((c) => h("th", {}, c)))),
        h("tbody", {}, rows)));
  }

  // ---------- cost layers + inversions ----------
  function layerText(layer, v) {
    if (v === null || v === undefined) return layer === "per_pass" ? "∞" : "n/a";
    return layer === "per_token" ? "$" + v.toFixed(3) : money(v);
  }
  function priceText(v) {
    // Where this route's cost comes from: the price source (and version), what the cost is made of,
    // what the endpoint itself reported, and episodes measured on a busy host.
    const p = v.pricing || {}, b = v.billing || {};
    if (p.kind === "unknown") return h("div", { class: "note unknown-price" }, p.note || "PRICE UNKNOWN");
    const parts = [`prices: ${p.source || "?"}${p.version ? " " + p.version : ""}${p.note ? " (" + p.note + ")" : ""}`];
    const shares = Object.entries(b.cost_shares || {}).filter(([, x]) => x > 0.005);
    if (shares.length > 1) parts.push("cost: " + shares.map(([k, x]) => `${k.replace("_", " ")} ${Math.round(x * 100)} %`).join(", "));
    if (b.reported) parts.push(`endpoint reported ${money(b.reported.theirs)} vs ours ${b.reported.ours === null ? "unknown" : money(b.reported.ours)}${b.reported.disagree ? " — more than 1 % apart" : ""}`);
    if (b.cut_short_calls) parts.push(`${b.cut_short_calls} call(s) cut short, billed for what they used`);
    if (b.contended_episodes) parts.push(`${b.contended_episodes} episode(s) on a busy host${b.contended_wall_limits ? `, ${b.contended_wall_limits} of them stopped by the wall limit` : ""}`);
    return h("div", { class: "note" }, parts.join("; "));
  }
  function renderLayers() {
    const labels = Object.keys(DATA.layers);
    if (!labels.length) return emptySection("layers", "No route has a finished episode.");
    const L = DATA.meta.layers;
    const inverted = new Set();
    DATA.inversions.forEach((i) => { if (i.significant) { inverted.add(i.a); inverted.add(i.b); } });
    const rankOf = (layer, label) => { const r = (DATA.rankings[layer] || []).indexOf(label); return r < 0 ? null : r + 1; };
    const rows = labels.map((label) => {
      const v = DATA.layers[label];
      return h("tr", { class: inverted.has(label) ? "inv" : null },
        h("td", {}, epLink(label, { route: label }), v.reference ? h("div", { class: "note" }, "reference: shown, never routed to") : "", priceText(v)), h("td", { class: "num" }, int(v.episodes), v.infra_episodes ? h("div", { class: "note" }, `+${v.infra_episodes} infra`) : ""),
        h("td", { class: "num" }, rate(v.pass_rate), h("div", { class: "note" }, ci(v.pass_ci, rate))),
        L.map((layer) => h("td", { class: "num" }, layerText(layer, v[layer]),
          rankOf(layer, label) ? h("span", { class: "rank", title: "rank at this layer" }, `#${rankOf(layer, label)}`) : "",
          layer === "per_pass" ? h("div", { class: "note" }, moneyCi(v.per_pass_ci)) : "")));
    });
    const table = h("table", { id: "layers-table" }, h("thead", {}, h("tr", {}, h("th", {}, "route"), h("th", { class: "num" }, "episodes"),
      h("th", { class: "num" }, "pass rate"), L.map((l) => h("th", { class: "num" }, DATA.meta.layer_titles[l])))), h("tbody", {}, rows));
    const inv = DATA.inversions.length
      ? h("ul", { class: "inversions" }, DATA.inversions.map((i) => h("li", { class: i.significant ? "sig-inv" : "weak" },
        `${i.from_layer.replace("_", "-")} → ${i.to_layer.replace("_", "-")}: ${i.text}`)))
      : h("p", { class: "note" }, "No ranking inversion between layers: the cheapest route per token is also the cheapest per pass here.");
    body("layers").append(h("p", { class: "note" }, "Each layer can invert the ranking: per-token list price → per call → per episode → per pass (failures and their overheads included). Rows in a significant inversion are highlighted; #n is the rank at that layer."),
      h("div", { class: "row" }, h("div", { class: "grow" }, table), bumpChart(labels, inverted)),
      h("h3", {}, `Ranking inversions (${DATA.inversions.length})`), inv);
  }

  function bumpChart(labels, inverted) {
    const L = DATA.meta.layers;
    const n = Math.max(...L.map((l) => (DATA.rankings[l] || []).length), 1);
    const W = 330, top = 26, step = Math.min(30, 220 / n), H = top + step * n + 14, x0 = 30, dx = (W - 60) / (L.length - 1);
    const svg = h("svg:svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "bump-chart", role: "img", "aria-label": "rank of each route at each cost layer" });
    L.forEach((l, i) => svg.append(h("svg:text", { x: x0 + i * dx, y: 14, "text-anchor": "middle" }, l.replace("per_", "per-"))));
    labels.forEach((label) => {
      const pts = L.map((l, i) => { const r = (DATA.rankings[l] || []).indexOf(label); return r < 0 ? null : [x0 + i * dx, top + r * step]; });
      const color = inverted.has(label) ? modelColor[DATA.layers[label].model_key] : "#c5ccd6";
      const d = pts.filter(Boolean).map((p, i) => `${i ? "L" : "M"}${p[0]},${p[1]}`).join(" ");
      const g = h("svg:g", { class: "pt" }, h("svg:path", { d, fill: "none", stroke: color, "stroke-width": inverted.has(label) ? 2.5 : 1.5 }),
        pts.filter(Boolean).map((p) => h("svg:circle", { cx: p[0], cy: p[1], r: 4, fill: color })));
      tip(g, () => [h("b", {}, label), ...L.map((l) => h("div", {}, `${DATA.meta.layer_titles[l]}: ${layerText(l, DATA.layers[label][l])}`))]);
      g.addEventListener("click", () => showEpisodes({ route: label }));
      svg.append(g);
    });
    return h("div", { class: "panel" }, h("div", { class: "note" }, "rank per layer (top = cheapest)"), svg);
  }

  // ---------- tooltip ----------
  const tooltip = document.getElementById("tooltip");
  function tip(node, content) {
    node.addEventListener("mousemove", (e) => {
      tooltip.replaceChildren(...content());
      tooltip.hidden = false;
      const x = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
      tooltip.style.left = `${x}px`;
      tooltip.style.top = `${e.clientY + 14}px`;
    });
    node.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  }

  // ---------- Pareto ----------
  function paretoPoints(tier) {
    return Object.entries(DATA.layers).map(([label, v]) => {
      const x = tier ? (v.tiers || {})[tier] : v;
      if (!x || !x.episodes) return null;
      return { label, v: x, cost: x.per_pass, lo: x.per_pass_ci ? x.per_pass_ci[0] : null, hi: x.per_pass_ci ? x.per_pass_ci[1] : null,
        rate: x.pass_rate, rlo: x.pass_ci ? x.pass_ci[0] : 0, rhi: x.pass_ci ? x.pass_ci[1] : 1, model: v.model_key };
    }).filter(Boolean);
  }
  function frontier(points) {
    const finite = points.filter((p) => p.cost !== null).sort((a, b) => a.cost - b.cost || b.rate - a.rate);
    const out = [];
    let best = -1;
    for (const p of finite) if (p.rate > best) { out.push(p); best = p.rate; }
    return out;
  }
  function renderPareto() {
    const root = body("pareto");
    if (!Object.keys(DATA.layers).length) return emptySection("pareto", "Nothing to plot: no finished episode.");
    const tiers = Object.keys(DATA.tiers);
    const select = h("select", { id: "pareto-tier" }, h("option", { value: "" }, "all tiers"), tiers.map((t) => h("option", { value: t }, t)));
    const holder = h("div", { class: "panel", id: "pareto-plot" });
    select.addEventListener("change", () => drawPareto(holder, select.value));
    const models = [...new Set(DATA.routes.map((r) => r.model_key))];
    root.append(h("p", { class: "note" }, "Up and left is better. Bars are 95 % intervals; the dashed line is the Pareto frontier (no route is both cheaper and better). Routes with no pass have no finite cost per pass and sit in the ∞ band. Hover for details, click for episodes."),
      h("div", { class: "filters" }, h("label", {}, "tier", select)),
      h("div", { class: "legend" }, models.map((m) => h("span", {}, h("i", { style: `background:${modelColor[m]}` }), m))), holder);
    drawPareto(holder, "");
  }
  function drawPareto(holder, tier) {
    const pts = paretoPoints(tier);
    const W = 860, H = 400, ml = 58, mr = 92, mt = 16, mb = 44, pw = W - ml - mr, ph = H - mt - mb;
    const finite = pts.filter((p) => p.cost !== null);
    const xs = finite.flatMap((p) => [p.cost, p.lo, p.hi]).filter((v) => v !== null && v !== undefined);
    let xmax = Math.max(...xs, 0), xmin = Math.min(...xs, xmax);
    const log = xmin > 0 && xmax / xmin > 30;
    if (!log) { xmin = 0; xmax = xmax > 0 ? xmax * 1.08 : 1; }
    const lx = (v) => Math.log10(v);
    const X = (v) => ml + (log ? (lx(v) - lx(xmin)) / (lx(xmax) - lx(xmin) || 1) : (v - xmin) / (xmax - xmin)) * pw;
    const infX = ml + pw + 46;
    const Y = (v) => mt + (1 - v) * ph;
    const svg = h("svg:svg", { width: "100%", viewBox: `0 0 ${W} ${H}`, id: "pareto-svg", role: "img", "aria-label": "pass rate versus cost per pass" });
    const grid = h("svg:g", { class: "grid" }), axis = h("svg:g", { class: "axis" });
    [0, 0.25, 0.5, 0.75, 1].forEach((r) => {
      grid.append(h("svg:line", { x1: ml, x2: ml + pw, y1: Y(r), y2: Y(r) }));
      axis.append(h("svg:text", { x: ml - 6, y: Y(r) + 4, "text-anchor": "end" }, r.toFixed(2)));
    });
    const ticks = log ? logTicks(xmin, xmax) : linTicks(xmin, xmax);
    ticks.forEach((t) => {
      grid.append(h("svg:line", { x1: X(t), x2: X(t), y1: mt, y2: mt + ph }));
      axis.append(h("svg:text", { x: X(t), y: mt + ph + 16, "text-anchor": "middle" }, money(t)));
    });
    axis.append(h("svg:line", { x1: ml, x2: ml + pw, y1: mt + ph, y2: mt + ph }), h("svg:line", { x1: ml, x2: ml, y1: mt, y2: mt + ph }));
    axis.append(h("svg:text", { x: ml + pw / 2, y: H - 6, "text-anchor": "middle" }, `cost per pass (USD${log ? ", log scale" : ""})`));
    axis.append(h("svg:text", { x: 14, y: mt + ph / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${mt + ph / 2})` }, "pass rate"));
    const minRate = DATA.meta.min_pass_rate;
    grid.append(h("svg:line", { x1: ml, x2: ml + pw, y1: Y(minRate), y2: Y(minRate), stroke: "#cf222e", "stroke-dasharray": "2 3", style: "stroke:#cf222e" }));
    axis.append(h("svg:text", { x: ml + pw - 4, y: Y(minRate) - 4, "text-anchor": "end", style: "fill:#cf222e" }, `minimum ${minRate}`));
    if (pts.length > finite.length) {
      grid.append(h("svg:rect", { x: infX - 24, y: mt, width: 48, height: ph, fill: "#f6f7f9" }));
      axis.append(h("svg:text", { x: infX, y: mt + ph + 16, "text-anchor": "middle" }, "∞ (no pass)"));
    }
    svg.append(grid, axis);
    const front = frontier(pts);
    if (front.length > 1) {
      let d = `M${X(front[0].cost)},${Y(front[0].rate)}`;
      for (let i = 1; i < front.length; i++) d += ` H${X(front[i].cost)} V${Y(front[i].rate)}`;
      svg.append(h("svg:path", { class: "frontier", d }));
    }
    const onFront = new Set(front.map((p) => p.label));
    const nInf = {};
    pts.forEach((p) => {
      const color = modelColor[p.model] || "#555";
      let cx;
      if (p.cost === null) { nInf[p.rate] = (nInf[p.rate] || 0) + 1; cx = infX + ((nInf[p.rate] - 1) % 5) * 6 - 12; } else cx = X(p.cost);
      const cy = Y(p.rate ?? 0);
      const g = h("svg:g", { class: "pt", "data-route": p.label });
      g.append(h("svg:line", { x1: cx, x2: cx, y1: Y(p.rhi), y2: Y(p.rlo), stroke: color, "stroke-opacity": 0.5 }));
      if (p.cost !== null && p.lo !== null && p.hi !== null) g.append(h("svg:line", { x1: X(Math.max(p.lo, log ? xmin : 0)), x2: X(Math.min(p.hi, xmax)), y1: cy, y2: cy, stroke: color, "stroke-opacity": 0.5 }));
      g.append(h("svg:circle", { cx, cy, r: onFront.has(p.label) ? 7 : 5.5, fill: color, stroke: onFront.has(p.label) ? "#111" : "#fff", "stroke-width": 1.5 }));
      if (p.cost === null || onFront.has(p.label) || pts.length <= 12) {
        g.append(h("svg:text", { class: "pt-label", "data-x": cx, "data-y": cy, "data-prefer": p.cost === null ? "left" : "right" }, p.label));
      }
      tip(g, () => pointTip(p));
      g.addEventListener("click", () => showEpisodes(tier ? { route: p.label, tier } : { route: p.label }));
      svg.append(g);
    });
    holder.replaceChildren(svg);
    placeLabels(svg, W, H);
  }
  // Labels go where they overlap no other label and stay inside the plot: the first free place around
  // the point, nearest first (measured after layout, so long route names are handled as they render).
  const LABEL_PLACES = [[9, -7], [9, 13], [-9, -7], [-9, 13], [9, -20], [-9, -20], [9, 26], [-9, 26], [9, -33], [-9, -33], [9, 39], [-9, 39]];
  function placeLabels(svg, W, H) {
    const taken = [];
    const clear = (b) => !taken.some((o) => b.x < o.x + o.width && o.x < b.x + b.width && b.y < o.y + o.height && o.y < b.y + b.height);
    const labels = [...svg.querySelectorAll("text.pt-label")].sort((a, b) => a.dataset.y - b.dataset.y);
    for (const t of labels) {
      const x = Number(t.dataset.x), y = Number(t.dataset.y);
      const places = t.dataset.prefer === "left" ? [...LABEL_PLACES].sort((a, b) => a[0] - b[0]) : LABEL_PLACES;
      let fallback = null, chosen = null;
      for (const [dx, dy] of places) {
        t.setAttribute("x", x + dx); t.setAttribute("y", y + dy); t.setAttribute("text-anchor", dx < 0 ? "end" : "start");
        const b = t.getBBox();
        if (b.x < 0 || b.x + b.width > W || b.y < 0 || b.y + b.height > H) continue;
        fallback = fallback || [dx, dy];
        if (clear(b)) { chosen = [dx, dy]; break; }
      }
      const [dx, dy] = chosen || fallback || places[0];
      t.setAttribute("x", x + dx); t.setAttribute("y", y + dy); t.setAttribute("text-anchor", dx < 0 ? "end" : "start");
      taken.push(t.getBBox());
    }
  }
  function pointTip(p) {
    const r = routeByLabel[p.label] || {};
    const changes = r.changes && Object.keys(r.changes).length ? JSON.stringify(r.changes) : "baseline";
    return [h("b", {}, p.label), h("div", {}, `model ${r.model} (${r.kind}) · config: ${changes}`),
      h("div", {}, `pass rate ${rate(p.rate)} ${ci([p.rlo, p.rhi], rate)}`),
      h("div", {}, `cost per pass ${p.v.per_pass_text || money(p.cost)}`),
      h("div", {}, `${p.v.episodes} episodes, ${p.v.passes} passes · per episode ${money(p.v.per_episode)}`)];
  }
  function linTicks(a, b) {
    const span = b - a, raw = span / 5, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const stepv = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= 6);
    const out = [];
    for (let t = 0; t <= b + 1e-12; t += stepv) if (t >= a) out.push(t);
    return out;
  }
  function logTicks(a, b) {
    const out = [];
    for (let e = Math.floor(Math.log10(a)); e <= Math.ceil(Math.log10(b)); e++) {
      const t = Math.pow(10, e);
      if (t >= a * 0.999 && t <= b * 1.001) out.push(t);
    }
    return out.length >= 2 ? out : [a, b];
  }

  // ---------- OFAT ----------
  function renderOfat() {
    const models = Object.entries(DATA.ofat);
    if (!models.length) return emptySection("ofat", "No model has cells to compare.");
    const delta = (e, f) => {
      if (!e || e.delta === null || e.delta === undefined) return "—";
      return h("span", { class: e.significant ? "sig" : null, title: e.significant ? "95 % interval excludes 0" : "not significant" },
        signed(e.delta, f), e.significant ? " *" : "", h("div", { class: "note" }, e.ci && e.ci[0] !== null ? `[${signed(e.ci[0], f)}, ${signed(e.ci[1], f)}]` : ""));
    };
    const root = body("ofat");
    root.append(h("p", { class: "note" }, "Each cell changes one factor from the model's baseline; differences are paired over the tasks both ran (* = the 95 % interval excludes 0)."));
    const single = [];
    for (const [model, o] of models) {
      if (o.cells.length < 2) { single.push(model); continue; }
      const rows = o.cells.map((c) => {
        const e = c.effects || {};
        return h("tr", {}, h("td", {}, epLink(c.cell, { route: c.cell })), h("td", {}, c.baseline ? h("span", { class: "badge neutral" }, "baseline") : `${c.factor} = ${JSON.stringify(c.level)}`),
          h("td", { class: "num" }, rate(c.pass_rate)), h("td", { class: "num" }, money(c.per_pass)),
          h("td", { class: "num" }, delta(e.pass_rate, (x) => x.toFixed(2))), h("td", { class: "num" }, delta(e.per_pass, money)),
          h("td", { class: "num" }, delta(e.decode_tok_s, (x) => x.toFixed(1))), h("td", { class: "num" }, delta(e.wall_s, (x) => x.toFixed(2) + " s")));
      });
      root.append(h("h3", {}, model), h("table", { class: "ofat-table" }, h("thead", {}, h("tr", {}, ["cell", "factor = level", "pass rate", "cost per pass", "Δ pass rate", "Δ cost per pass", "Δ decode tok/s", "Δ wall per episode"].map((c, i) => h("th", { class: i > 1 ? "num" : null }, c)))), h("tbody", {}, rows)));
      if (o.best) root.append(h("p", {}, h("b", {}, "Best config: "), `${o.best.cell} — ${o.best.why}; pass rate ${rate(o.best.pass_rate)}, ${money(o.best.cost_per_pass)} per pass`));
    }
    if (single.length) root.append(h("p", { class: "note" }, `Only a baseline cell (no OFAT matrix): ${single.join(", ")}.`));
  }

  // ---------- ceilings ----------
  function renderCeilings() {
    const entries = Object.entries(DATA.ceilings);
    if (!entries.length) return emptySection("ceilings", "No failures to explain.");
    const rows = entries.map(([label, c]) => {
      const bar = h("div", { class: "bar" }, ["turn", "token", "capability"].filter((k) => c.counts[k]).map((k) => {
        const seg = h("span", { class: k, style: `width:${(c.shares[k] * 100).toFixed(1)}%` });
        tip(seg, () => [h("b", {}, `${label}: ${k} ceiling`), h("div", {}, `${c.counts[k]} of ${c.failed} failures (${Math.round(c.shares[k] * 100)} %)`)]);
        seg.addEventListener("click", () => showEpisodes({ route: label, ceiling: k }));
        return seg;
      }));
      return h("tr", {}, h("td", {}, epLink(label, { route: label, verdict: "fail" })), h("td", { class: "num" }, int(c.failed)),
        h("td", {}, c.failed ? bar : h("span", { class: "note" }, "no failure")),
        h("td", { class: "num" }, ["turn", "token", "capability"].map((k) => `${c.counts[k]}`).join(" / ")),
        h("td", { class: "num" }, int(c.infra)),
        h("td", {}, h("ul", { style: "margin:0;padding-left:16px" }, c.advice.map((a) => h("li", {}, a)), c.checks.map((k) => h("li", { class: "note" }, `checked: ${k.text}`)))));
    });
    body("ceilings").append(
      h("p", { class: "note" }, "Turn and token ceilings are fixable by config; only the capability ceiling is not. Infra failures (endpoint, memory, sandbox) are never counted as the model's. Click a bar segment for those episodes."),
      h("div", { class: "legend" }, ["turn", "token", "capability"].map((k) => h("span", {}, h("i", { style: `background:var(--${k})` }), k))),
      h("table", { id: "ceilings-table" }, h("thead", {}, h("tr", {}, ["route", "failed", "share of failures", "turn / token / capability", "infra", "advice"].map((c, i) => h("th", { class: i === 1 || i === 3 || i === 4 ? "num" : null }, c)))), h("tbody", {}, rows)));
  }

  // ---------- cards ----------
  function renderCards() {
    if (!DATA.cards.length) return emptySection("cards", "No model to describe.");
    const cards = DATA.cards.map((c) => h("div", { class: "panel card", "data-model": c.model_key },
      h("h3", {}, h("i", { style: `display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;background:${modelColor[c.model_key]}` }), c.model_key),
      h("div", { class: "verdict" }, `Fit for tiers: ${c.fit_tiers.length ? c.fit_tiers.join(", ") : "none"}`),
      c.roles.length ? h("ul", {}, c.roles.map((r) => h("li", {}, `${r.tier}: ${r.role} route ${r.route} ${r.text ? "at " + r.text + " per pass" : ""}`))) : "",
      h("div", { class: "note" }, `model ${c.model} (${c.kind}) · ${c.cells.length} cell(s) · ${c.tasks.length} task(s) · N = ${c.repeats} repeats`),
      c.best ? h("div", {}, h("b", {}, "Best config: "), `${c.best.cell} (${money(c.best.cost_per_pass)} per pass, pass rate ${rate(c.best.pass_rate)})`) : "",
      Object.entries(c.advice).some(([, a]) => a.length) ? h("div", {}, h("b", {}, "Why it fails:"), h("ul", {}, Object.entries(c.advice).flatMap(([label, a]) => a.map((x) => h("li", {}, `${label}: ${x}`))))) : "",
      c.inversions.length ? h("div", {}, h("b", {}, "Inversions:"), h("ul", {}, c.inversions.map((t) => h("li", {}, t)))) : "",
      c.stops.length ? h("div", {}, h("b", {}, "Stopped early (adaptive allocation):"), h("ul", {}, c.stops.map((s) => h("li", {}, `${s.cell} on ${s.tier} at N = ${s.repeats}: ${s.kind.replace(/_/g, " ")} — ${s.reason}`)))) : "",
      h("div", {}, epLink(`all ${DATA.episodes.filter((e) => e.model === c.model_key).length} episodes of ${c.model_key} →`, { model: c.model_key }))));
    body("cards").append(h("div", { class: "cards" }, cards));
  }

  // ---------- episode browser ----------
  const FILTERS = [["model", "model"], ["route", "route"], ["config", "config"], ["task", "task"], ["tier", "tier"],
    ["verdict", "verdict"], ["reason", "verifier reason"], ["stop", "stop reason"], ["ceiling", "ceiling"]];
  const COLUMNS = [["id", "#", true], ["route", "route"], ["task", "task"], ["tier", "tier"], ["verdict", "verdict"],
    ["stop", "stop reason"], ["ceiling", "ceiling"], ["turns", "turns", true], ["tokens", "tokens in / out", true],
    ["cost", "cost", true], ["wall", "wall", true]];
  const PAGE = 200;
  const browser = {
    filter: {}, sort: ["id", 1], shown: PAGE, selects: {}, tbody: null, count: null, more: null,
    set(filter) {
      this.filter = { ...filter };
      for (const [key] of FILTERS) this.selects[key].value = this.filter[key] ?? "";
      this.shown = PAGE;
      this.draw();
    },
    rows() {
      const f = this.filter;
      const keys = Object.keys(f).filter((k) => f[k] !== "" && f[k] !== undefined);
      const [col, dir] = this.sort;
      const val = (e) => (col === "tokens" ? e.prompt + e.completion : e[col]);
      return DATA.episodes.filter((e) => keys.every((k) => String(e[k] ?? "") === String(f[k])))
        .sort((a, b) => { const x = val(a), y = val(b); return (x < y ? -1 : x > y ? 1 : a.id - b.id) * dir; });
    },
    draw() {
      const rows = this.rows();
      this.count.textContent = `${rows.length} of ${DATA.episodes.length} episodes`;
      this.tbody.replaceChildren(...rows.slice(0, this.shown).map(episodeRow));
      this.more.hidden = rows.length <= this.shown;
      this.more.textContent = `show ${Math.min(PAGE, rows.length - this.shown)} more`;
    },
  };
  function episodeRow(e) {
    return h("tr", { "data-id": e.id, on: { click: () => { location.hash = `episode-${e.id}`; } } },
      h("td", { class: "num" }, e.id), h("td", {}, e.route), h("td", {}, e.task), h("td", {}, e.tier),
      h("td", {}, verdictBadge(e.verdict), e.false_done ? h("span", { class: "note", title: "said done, the verifier disagreed" }, " false done") : ""),
      h("td", {}, e.stop || "—"), h("td", {}, e.ceiling || "—"), h("td", { class: "num" }, int(e.turns)),
      h("td", { class: "num" }, `${int(e.prompt)} / ${int(e.completion)}`), h("td", { class: "num" }, money(e.cost)),
      h("td", { class: "num" }, secs(e.wall)));
  }
  function renderBrowser() {
    const root = body("episodes");
    if (!DATA.episodes.length) return emptySection("episodes", "No finished episode to browse.");
    const filters = h("div", { class: "filters", id: "episode-filters" });
    for (const [key, name] of FILTERS) {
      const values = [...new Set(DATA.episodes.map((e) => e[key]).filter((v) => v !== null && v !== undefined))].sort();
      const sel = h("select", { name: key, "data-filter": key }, h("option", { value: "" }, `all (${values.length})`), values.map((v) => h("option", { value: v }, v)));
      sel.addEventListener("change", () => { browser.filter[key] = sel.value; browser.shown = PAGE; browser.draw(); });
      browser.selects[key] = sel;
      filters.append(h("label", {}, name, sel));
    }
    filters.append(h("button", { type: "button", on: { click: () => browser.set({}) } }, "clear filters"));
    browser.count = h("span", { class: "count", id: "episode-count" });
    browser.tbody = h("tbody", {});
    browser.more = h("button", { class: "more", type: "button", on: { click: () => { browser.shown += PAGE; browser.draw(); } } });
    const head = h("tr", {}, COLUMNS.map(([key, name, num]) => h("th", { class: num ? "num" : null, title: "sort", on: { click: () => {
      browser.sort = [key, browser.sort[0] === key ? -browser.sort[1] : 1]; browser.draw(); } } }, name)));
    root.append(h("p", { class: "note" }, "Every episode behind every number. Filter, sort by a column, click a row to read its transcript step by step."),
      filters, browser.count, h("table", { id: "episode-table" }, h("thead", {}, head), browser.tbody), h("p", {}, browser.more));
    browser.draw();
  }

  // ---------- one episode ----------
  async function unpack(id) {
    if (!transcripts) transcripts = JSON.parse(document.getElementById("perpass-transcripts").textContent);
    const b64 = transcripts[String(id)];
    if (!b64) return null;
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  const view = document.getElementById("episode-view");
  function closeEpisode() {
    view.hidden = true;
    view.replaceChildren();
    document.querySelectorAll("#episode-table tr.open").forEach((r) => r.classList.remove("open"));
    if (location.hash.startsWith("#episode-")) history.replaceState(null, "", "#episodes");
  }
  async function openEpisode(id) {
    const e = DATA.episodes.find((x) => x.id === id);
    if (!e) return;
    document.querySelectorAll("#episode-table tr.open").forEach((r) => r.classList.remove("open"));
    const tr = document.querySelector(`#episode-table tr[data-id="${id}"]`);
    if (tr) tr.classList.add("open");
    const fact = (k, v) => h("div", {}, h("span", {}, k), h("b", {}, v));
    view.replaceChildren(
      h("div", { class: "ev-head" }, h("h2", {}, `Episode ${e.id} · ${e.route} · ${e.task}`),
        h("button", { type: "button", class: "close", title: "close (Esc)", on: { click: closeEpisode } }, "close ✕")),
      h("div", { class: "facts" }, fact("verdict", verdictBadge(e.verdict)), fact("verifier reason", h("span", { class: "verdict-reason" }, e.reason || "—")),
        fact("stop reason", h("span", { class: "stop-reason" }, e.stop || "—")),
        fact("ceiling", e.ceiling || "—"), fact("agent", e.agent || "perpass"), fact("tier", e.tier), fact("config", e.config), fact("repeat", e.repeat ?? "—"),
        fact("turns / calls", `${int(e.turns)} / ${int(e.calls)}`), fact("tokens in / out", `${int(e.prompt)} / ${int(e.completion)}`),
        fact("cost", money(e.cost)), fact("failure overhead", money(e.overhead)), fact("wall", secs(e.wall)), fact("attempts", e.attempts ?? "—")),
      h("div", { class: "note", id: "episode-loading" }, "unpacking the transcript…"));
    view.hidden = false;
    view.scrollTop = 0;
    let t;
    try { t = await unpack(id); } catch (err) {
      view.querySelector("#episode-loading").textContent = `could not unpack the transcript: ${err}`;
      return;
    }
    view.querySelector("#episode-loading").remove();
    if (!t) { view.append(h("p", { class: "note" }, "No transcript stored for this episode.")); return; }
    if (t.error) view.append(h("div", { class: "banner warn" }, h("b", {}, "error: "), t.error));
    if (t.verdict) view.append(verdictView(t.verdict));
    view.append(h("div", { class: "verifier" }, h("b", {}, "Verifier output "), verdictBadge(e.verdict), h("pre", { class: "verifier-output" }, t.verifier_output || "(none)")));
    view.append(h("h3", {}, `${t.steps.length} step(s)`));
    t.steps.forEach((s, i) => view.append(stepView(s, i === t.steps.length - 1)));
    // An external agent's own stdout/stderr: its actions, which the gateway's steps (model calls) do not show.
    if (t.agent_log) view.append(h("div", { class: "verifier" }, h("b", {}, `${e.agent} log`), h("pre", { class: "agent-log verifier-output" }, t.agent_log)));
    if (t.transcript_file) view.append(h("p", { class: "note" }, `full transcript file: ${t.transcript_file}`));
  }
  // The verifier's typed verdict: its reason, the hidden tests one by one, and the evidence it acted on.
  function verdictView(v) {
    const tests = (v.tests || []).map((x) => h("li", {}, `${x.outcome} `, h("code", {}, x.nodeid), x.message ? ` — ${x.message}` : ""));
    const evidence = (v.evidence || []).map((x) => h("li", {}, `${x.kind}${x.cls ? " (" + x.cls + ")" : ""}${x.allowed ? " [allowed]" : ""}: `, h("code", {}, x.where), ` ${x.detail}`));
    return h("div", { class: "verifier-verdict" }, h("b", {}, `Verdict: ${v.reason}`), v.detail ? ` — ${v.detail}` : "",
      v.method === "command" ? h("span", { class: "note" }, " (exit-code verdict: no per-test records)") : "",
      tests.length ? h("details", { open: v.reason !== "passed" }, h("summary", {}, `hidden tests (${tests.length})`), h("ul", { class: "verdict-tests" }, tests)) : "",
      (v.missing || []).length ? h("p", {}, `missing results: ${v.missing.join(", ")}`) : "",
      evidence.length ? h("details", { open: true }, h("summary", {}, `evidence (${evidence.length})`), h("ul", { class: "verdict-evidence" }, evidence)) : "");
  }
  function stepView(s, last) {
    const c = s.call || {};
    const head = h("div", { class: "step-head" }, h("b", {}, `step ${s.idx + 1}${last ? " (last)" : ""}`),
      h("span", {}, `tokens ${int(c.prompt_tokens)}${c.cached_prompt_tokens ? ` (${int(c.cached_prompt_tokens)} cached)` : ""} → ${int(c.completion_tokens)}`,
        ` · call ${secs(c.latency_s)} · action ${secs(s.action_s)} · harness ${secs(s.harness_s)} · ${money(c.cost ?? 0)}`,
        c.finish_reason ? ` · finish ${c.finish_reason}` : ""));
    const msgs = Array.isArray(s.messages_in) ? s.messages_in : [];
    const part = (name, ...kids) => h("div", { class: `part ${name}` }, h("span", {}, name), ...kids);
    return h("div", { class: "step", "data-step": s.idx }, head,
      msgs.length ? part("messages in", h("details", { open: s.idx === 0 ? null : null }, h("summary", {}, `${msgs.length} message(s): ${msgs.map((m) => m.role).join(", ")}`),
        msgs.map((m) => h("div", { class: "msg" }, h("b", {}, m.role), h("pre", {}, typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 1)))))) : "",
      part("reply", h("pre", {}, s.reply ?? "")),
      s.tool_calls && s.tool_calls.length ? part("tool calls", h("pre", {}, JSON.stringify(s.tool_calls, null, 1))) : "",
      part("action", s.action ? h("pre", {}, s.action) : h("span", { class: "note" }, " no parsable action")),
      s.observation !== null && s.observation !== undefined ? part("observation", s.exit_code !== null && s.exit_code !== undefined ? h("span", { class: `badge ${s.exit_code === 0 ? "pass" : "fail"} exit` }, `exit ${s.exit_code}`) : "",
        h("pre", { class: "observation" }, s.observation)) : "");
  }
  function route() {
    const m = location.hash.match(/^#episode-(\d+)$/);
    if (m) openEpisode(Number(m[1])); else if (!view.hidden) closeEpisode();
  }
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !view.hidden) closeEpisode(); });
  window.addEventListener("hashchange", route);

  renderSummary();
  for (const draw of [renderDecision, renderLayers, renderPareto, renderOfat, renderCeilings, renderCards, renderBrowser]) {
    try { draw(); } catch (err) { console.error(err); }
  }
  document.body.setAttribute("data-ready", "1");
  route();
})();
