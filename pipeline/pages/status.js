"use strict";
// voxpipe campaign status page. Every value from the journal is put on screen as text
// (textContent, setAttribute), never parsed as markup; the table is drawn a page at a time.
(function () {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const app = document.getElementById("app");
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = {
    pending: "#b8c0cc", in_flight: "#8d99ab", queued: "#9fb7e8", accepted: "#5b8def", ringing: "#8a6fd6",
    answered: "#2f9e5b", delivered: "#27864d", played: "#16653a", failed: "#d64541", busy: "#e07b39",
    no_answer: "#e0a339", machine: "#a07b4f", expired: "#8c5a5a", cancelled: "#6f6f6f", unknown: "#c7a6d9",
    rejected: "#9b1c1c",
  };
  const colour = (s) => COLOURS[s] || "#999999";

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
  const when = (epoch) => new Date(epoch * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  const key = (s) => el("span", { class: "key", style: "background:" + colour(s) });

  function bar(c, choose) {
    const total = c.recipients_total || 1;
    const strip = el("div", { class: "bar", role: "img", "aria-label": "recipients per status" });
    const legend = el("div", { class: "legend" });
    for (const [status, n] of Object.entries(c.counts)) {
      strip.append(el("span", { style: `width:${(100 * n) / total}%;background:${colour(status)}`, title: `${status}: ${n}`, "data-status": status }));
      const button = el("button", { type: "button", "data-status": status }, key(status), `${status} ${n}`);
      button.addEventListener("click", () => choose(status));
      legend.append(button);
    }
    return [strip, legend];
  }

  function chart(c) {
    const t = c.timeline.t, series = c.timeline.series, n = t.length;
    const box = svg("svg", { class: "timeline", viewBox: "0 0 1000 100", preserveAspectRatio: "none", role: "img" });
    if (n < 2) return [box, el("div", { class: "axis" }, "no events yet")];
    const total = Math.max(1, ...t.map((_, i) => Object.values(series).reduce((sum, s) => sum + s[i], 0)));
    const x = (i) => (1000 * i) / (n - 1);
    const base = new Array(n).fill(0);
    for (const status of data.order.concat(Object.keys(series).filter((s) => !data.order.includes(s)))) {
      const s = series[status];
      if (!s) continue;
      const top = base.map((b, i) => b + s[i]);
      let d = "M0 " + (100 - (100 * top[0]) / total);
      for (let i = 1; i < n; i++) d += `L${x(i)} ${100 - (100 * top[i]) / total}`;
      for (let i = n - 1; i >= 0; i--) d += `L${x(i)} ${100 - (100 * base[i]) / total}`;
      box.append(svg("path", { d: d + "Z", fill: colour(status), "data-status": status }));
      for (let i = 0; i < n; i++) base[i] = top[i];
    }
    const legend = el("div", { class: "legend" });
    for (const status of Object.keys(series)) legend.append(el("span", {}, key(status), status));
    return [box, el("div", { class: "axis" }, el("span", {}, when(t[0])), el("span", {}, "statuses over time, from the journal's events"), el("span", {}, when(t[n - 1]))), legend];
  }

  function table(c, state) {
    const wrap = el("div", {});
    const pick = el("select", { class: "status-filter", "aria-label": "status" }, el("option", { value: "" }, `every status (${c.recipients_total})`));
    for (const [status, n] of Object.entries(c.counts)) pick.append(el("option", { value: status }, `${status} (${n})`));
    const pager = el("div", { class: "pager" });
    const body = el("tbody", {});
    const head = el("thead", {}, el("tr", {}, ...["recipient", "status", "raw status", "reason", "duration", "DTMF", "cost", "reference", "attempts", "last change (UTC)"].map((h) => el("th", {}, h))));
    function draw() {
      const rows = c.recipients.filter((r) => !state.status || r.status === state.status);
      const size = data.page_size, pages = Math.max(1, Math.ceil(rows.length / size));
      state.page = Math.min(state.page, pages - 1);
      body.replaceChildren(...rows.slice(state.page * size, (state.page + 1) * size).map((r) => el("tr", { "data-status": r.status },
        el("td", { class: "mono" }, r.address), el("td", { class: "status-cell" }, key(r.status), r.status), el("td", {}, r.raw_status || ""),
        el("td", {}, r.reason || ""), el("td", { class: "num" }, r.duration_s === null ? "" : r.duration_s + " s"), el("td", {}, r.dtmf || ""),
        el("td", {}, r.cost || ""), el("td", { class: "mono" }, r.ref || ""), el("td", { class: "num" }, String(r.attempts)), el("td", {}, r.updated_at))));
      if (!rows.length) body.append(el("tr", {}, el("td", { colspan: "10", class: "empty" }, "No recipient has this status.")));
      const prev = el("button", { type: "button", class: "prev" }, "‹ previous"), next = el("button", { type: "button", class: "next" }, "next ›");
      prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
      prev.addEventListener("click", () => { state.page -= 1; draw(); });
      next.addEventListener("click", () => { state.page += 1; draw(); });
      pager.replaceChildren(prev, el("span", {}, `page ${state.page + 1} of ${pages} · ${rows.length} recipient(s)`), next);
    }
    pick.addEventListener("change", () => { state.status = pick.value; state.page = 0; draw(); });
    state.choose = (status) => { pick.value = state.status === status ? "" : status; pick.dispatchEvent(new Event("change")); };
    draw();
    wrap.append(el("div", { class: "controls" }, el("label", {}, "show ", pick)), pager, el("table", { class: "grid" }, head, body));
    return wrap;
  }

  function campaign(c) {
    const state = { status: "", page: 0, choose: null };
    const section = el("section", { class: "campaign", "data-campaign": c.id });
    const list = table(c, state);
    section.append(
      el("h2", {}, c.id),
      el("p", { class: "sub" }, `${c.provider} · ${c.mode} · started ${c.created_at} · ${c.events} event(s)`),
      el("div", { class: "cards" },
        ...[[c.recipients_total, "recipients", ""], [c.reached, "reached", ""], [c.not_reached, "not reached", c.not_reached ? "bad" : ""],
          [c.open, "waiting for a status", c.open ? "warn" : ""]].map(([n, label, cls]) => el("div", { class: "card " + cls }, el("b", {}, String(n)), el("span", {}, label)))),
      ...bar(c, (status) => state.choose(status)),
      ...chart(c),
      list);
    return section;
  }

  app.replaceChildren(
    el("h1", {}, data.title),
    el("p", { class: "sub" }, `generated ${data.generated} · ${data.campaigns.length} campaign(s) · phone numbers ${data.masked ? "masked" : "shown in full"}`),
    ...(data.campaigns.length ? data.campaigns.map(campaign) : [el("p", { class: "empty" }, "This journal has no campaigns.")]));
  document.body.dataset.rendered = String(data.campaigns.length);
})();
