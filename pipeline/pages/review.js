"use strict";
// voxpipe review page. Every value from the report is put on screen as text (textContent,
// setAttribute), never parsed as markup. Only one page of items is in the document at a time.
(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const app = document.getElementById("app");
  const SVG = "http://www.w3.org/2000/svg";
  const LOUD_MIN = -60, LOUD_MAX = 0;
  const state = { sort: "input", filter: "all", query: "", page: 0 };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  const fixed = (v, d) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
  function duration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 60) return s.toFixed(1) + " s";
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.round(s % 60);
    return (h ? h + " h " : "") + m + " min " + r + " s";
  }
  function size(b) {
    if (b === null || b === undefined) return "–";
    if (b < 1024) return b + " B";
    if (b < 1048576) return (b / 1024).toFixed(1) + " KB";
    return (b / 1048576).toFixed(1) + " MB";
  }

  // ---- the text as written: markup tags muted, pauses as chips --------------------------------
  function said(text) {
    const box = el("div", { class: "said" });
    // A tag is "<name ...>" or "</name>": a "<" used as a character ("a < b") stays text.
    for (const part of text.split(/(<\/?[A-Za-z][\w:.-]*(?:\s[^<>]*)?\/?>)/)) {
      if (!part) continue;
      if (!/^<\/?[A-Za-z]/.test(part)) { box.append(part); continue; }
      const pause = /^<break\b[^>]*?time\s*=\s*["']([^"']+)["']/i.exec(part) || /^<break\b[^>]*?strength\s*=\s*["']([^"']+)["']/i.exec(part);
      box.append(pause ? el("span", { class: "pause", title: part }, "pause " + pause[1]) : el("span", { class: "tag" }, part));
    }
    return box;
  }

  // ---- drawings ---------------------------------------------------------------------------------
  function waveform(peaks, audio) {
    const n = Math.max(peaks.length, 1);
    const box = svg("svg", { class: "wave", viewBox: `0 0 ${n} 100`, preserveAspectRatio: "none", role: "img" });
    let d = "";
    peaks.forEach((p, i) => { const h = Math.max(0.6, p / 10); d += `M${i + 0.5} ${50 - h / 2}V${50 + h / 2}`; });
    box.append(svg("path", { class: "bars", d: d, "stroke-width": "0.7" }));
    const head = svg("line", { class: "head", x1: 0, x2: 0, y1: 0, y2: 100, "vector-effect": "non-scaling-stroke", visibility: "hidden" });
    box.append(head);
    if (audio) {
      audio.addEventListener("timeupdate", () => {
        if (!audio.duration) return;
        const x = (audio.currentTime / audio.duration) * n;
        head.setAttribute("x1", x); head.setAttribute("x2", x); head.setAttribute("visibility", "visible");
      });
      box.addEventListener("click", (ev) => {
        const r = box.getBoundingClientRect();
        if (audio.duration) audio.currentTime = ((ev.clientX - r.left) / r.width) * audio.duration;
      });
    }
    return box;
  }
  function loudness(f, target) {
    const values = f.momentary, width = Math.max(values.length, 2);
    const y = (v) => 100 - ((Math.min(Math.max(v, LOUD_MIN), LOUD_MAX) - LOUD_MIN) / (LOUD_MAX - LOUD_MIN)) * 100;
    const box = svg("svg", { class: "loud", viewBox: `0 0 ${width} 100`, preserveAspectRatio: "none", role: "img" });
    for (const level of [-50, -40, -30, -20, -10]) box.append(svg("line", { class: "grid", x1: 0, x2: width, y1: y(level), y2: y(level) }));
    if (target !== null) box.append(svg("line", { class: "target", x1: 0, x2: width, y1: y(target), y2: y(target) }));
    let d = "", pen = false;
    values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      d += (pen ? "L" : "M") + (i + 0.5) + " " + y(v).toFixed(1); pen = true;
    });
    if (d) box.append(svg("path", { class: "curve", d: d }));
    return box;
  }

  // ---- one file ---------------------------------------------------------------------------------
  function file(a) {
    const panel = el("div", { class: "file" });
    panel.append(el("h3", {}, el("span", {}, a.profile || "file"), el("span", { class: "fname mono" }, a.name)));
    let audio = null;
    if (a.src) {
      audio = el("audio", { controls: "", preload: "metadata", src: a.src, "data-duration": a.duration_s });
      panel.append(audio);
    }
    if (a.problem) panel.append(el("div", { class: "problem" }, a.problem));
    const f = a.facts;
    if (f) {
      panel.append(waveform(f.peaks, audio));
      panel.append(loudness(f, a.target_lufs));
      panel.append(el("div", { class: "legend" },
        `momentary loudness (400 ms), ${LOUD_MIN} to ${LOUD_MAX} LUFS; dashed: target ` +
        (a.target_lufs === null ? "unknown" : a.target_lufs + " LUFS")));
    }
    const facts = [
      ["duration", duration(a.duration_s)],
      ["loudness", fixed(a.lufs, 1) + " LUFS"],
      ["true peak", fixed(a.true_peak_dbtp, 1) + " dBTP"],
      ["size", size(a.bytes)],
      ["bitrate", a.bitrate_kbps === null ? "PCM" : a.bitrate_kbps + " kbps"],
      ["rate", a.sample_rate === null ? "–" : a.sample_rate + " Hz"],
      ["reused", a.reused ? "yes" : "no"],
      ["longest pause", f ? f.longest_silence_s.toFixed(1) + " s" : "–"],
    ];
    const dl = el("dl", { class: "facts" });
    for (const [k, v] of facts) dl.append(el("dt", {}, k), el("dd", {}, v));
    panel.append(dl);
    return panel;
  }

  // ---- one item ---------------------------------------------------------------------------------
  function item(it) {
    const flagged = it.flags.length > 0;
    const card = el("article", { class: "item" + (it.status !== "ok" ? " failed" : flagged ? " flagged" : ""), "data-id": it.id });
    const head = el("header", {}, el("span", { class: "n" }, "#" + (it.n + 1)), el("span", { class: "id" }, it.id),
      el("span", { class: "badge " + it.status }, it.status));
    if (it.wps) {
      const median = data.summary.median_wps;
      head.append(el("span", { class: "pace" }, `${it.wps.toFixed(1)} words/s` + (median ? ` (batch median ${median.toFixed(1)})` : "") +
        ` · ${it.words_estimated ? "≈" : ""}${it.words} words`));
    }
    card.append(head);
    if (flagged) {
      const flags = el("div", { class: "flags" });
      for (const [kind, detail] of it.flags) flags.append(el("span", { class: "flag " + kind.replace(/\W/g, ""), "data-kind": kind, title: detail }, kind + ": " + detail));
      card.append(flags);
    }
    if (it.text !== null) {
      const box = said(it.text);
      card.append(box);
      if (it.text.length > 400 || it.text.split("\n").length > 5) {
        const more = el("button", { class: "more", type: "button" }, "show all");
        more.addEventListener("click", () => { box.classList.toggle("open"); more.textContent = box.classList.contains("open") ? "show less" : "show all"; });
        card.append(more);
      }
    } else if (it.audio !== null) {
      card.append(el("div", { class: "source" }, "source audio: ", el("span", { class: "mono" }, it.audio)));
    }
    if (it.error) card.append(el("div", { class: "error-text" }, it.error));
    if (it.artifacts.length) {
      const files = el("div", { class: "files" });
      for (const a of it.artifacts) files.append(file(a));
      card.append(files);
    }
    return card;
  }

  // ---- list: filter, sort, page ---------------------------------------------------------------
  // Problems first: failures, then flagged items with the most kinds of flag, each in input order.
  const rank = (it) => (it.status !== "ok" ? 0 : it.flags.length ? 1 : 2);
  const kinds = (it) => new Set(it.flags.map((f) => f[0])).size;
  const sorts = {
    input: (a, b) => a.n - b.n,
    flags: (a, b) => rank(a) - rank(b) || kinds(b) - kinds(a) || a.n - b.n,
    id: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.n - b.n),
    longest: (a, b) => (b.duration_s || 0) - (a.duration_s || 0) || a.n - b.n,
    fastest: (a, b) => (b.wps || 0) - (a.wps || 0) || a.n - b.n,
    slowest: (a, b) => (a.wps || Infinity) - (b.wps || Infinity) || a.n - b.n,
  };
  const filters = {
    all: () => true,
    flagged: (it) => it.flags.length > 0,
    failed: (it) => it.status !== "ok",
    clean: (it) => it.flags.length === 0,
  };
  function chosen() {
    const q = state.query.toLowerCase();
    return data.items
      .filter(filters[state.filter])
      .filter((it) => !q || it.id.toLowerCase().includes(q) || (it.text || it.audio || "").toLowerCase().includes(q))
      .sort(sorts[state.sort]);
  }

  const list = el("section", { id: "items" });
  const pagers = [el("div", { class: "pager" }), el("div", { class: "pager" })];
  function draw() {
    const shown = chosen();
    const size = data.settings.page_size, pages = Math.max(1, Math.ceil(shown.length / size));
    state.page = Math.min(state.page, pages - 1);
    list.replaceChildren(...shown.slice(state.page * size, (state.page + 1) * size).map(item));
    if (!shown.length) list.append(el("p", { class: "empty" }, "No item matches."));
    for (const pager of pagers) {
      const prev = el("button", { type: "button", class: "prev" }, "‹ previous");
      const next = el("button", { type: "button", class: "next" }, "next ›");
      prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
      prev.addEventListener("click", () => { state.page -= 1; draw(); list.scrollIntoView(); });
      next.addEventListener("click", () => { state.page += 1; draw(); list.scrollIntoView(); });
      pager.replaceChildren(prev, el("span", { class: "where" }, `page ${state.page + 1} of ${pages} · ${shown.length} item(s)`), next);
    }
    document.body.dataset.rendered = String(shown.length);
  }

  function select(id, label, options, key) {
    const s = el("select", { id: id });
    for (const [value, text] of options) s.append(el("option", { value: value }, text));
    s.value = state[key];
    s.addEventListener("change", () => { state[key] = s.value; state.page = 0; draw(); });
    return el("label", {}, label + " ", s);
  }

  // ---- the page -------------------------------------------------------------------------------
  const s = data.summary;
  const card = (n, label, cls) => el("div", { class: "card" + (cls ? " " + cls : "") }, el("b", {}, String(n)), el("span", {}, label));
  const search = el("input", { id: "search", type: "search", placeholder: "id or text", size: "24" });
  search.addEventListener("input", () => { state.query = search.value; state.page = 0; draw(); });
  app.replaceChildren(
    el("h1", {}, data.title),
    el("p", { class: "sub" }, `generated ${data.generated} · media by ${data.settings.media === "url" ? "media URL" : "relative path"}` +
      ` · flags: speaking rate beyond ×${data.settings.rate_ratio} of the median, pauses ≥ ${data.settings.long_silence_s} s,` +
      ` loudness off target by > ${data.settings.loudness_tolerance_lu} LU, preparation warnings`),
    el("div", { class: "cards", id: "summary" },
      card(s.items, "items"), card(s.failed, "failed", s.failed ? "bad" : ""), card(s.flagged, "flagged", s.flagged ? "warn" : ""),
      card(duration(s.audio_s), "total audio"), card(s.files, "files"), card(size(s.bytes), "total size"),
      card(s.reused, "reused"), card(s.median_wps === null ? "–" : s.median_wps.toFixed(1), "median words/s")),
    el("div", { class: "controls" },
      select("sort", "sort", [["input", "input order"], ["flags", "flagged first"], ["id", "id"], ["longest", "longest first"],
        ["fastest", "fastest speech"], ["slowest", "slowest speech"]], "sort"),
      select("filter", "show", [["all", "all items"], ["flagged", "flagged or failed"], ["failed", "failed"], ["clean", "not flagged"]], "filter"),
      el("label", {}, "find ", search)),
    pagers[0], list, pagers[1]);
  draw();
})();
