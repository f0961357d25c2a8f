"use strict";
// The library page: counts, genre histogram, tags, duplicates, failures.

async function showLibrary() {
  let s;
  try { s = await api("/api/stats"); } catch (e) { setStatus(e.message, true); return; }
  document.getElementById("where").textContent = `${s.library} · catalog ${s.db} · model ${s.model_id}`;
  const card = (label, value) => el("div", { class: "card" }, el("b", { text: value }), label);
  document.getElementById("cards").replaceChildren(
    card("tracks", s.tracks.toLocaleString()), card("hours", s.hours.toFixed(1)),
    card("failed", String(s.failed)), card("transcoded for the browser", String(s.transcoded)));
  const max = Math.max(1, ...Object.values(s.genres));
  const hist = document.getElementById("genres");
  const names = Object.keys(s.genres);
  Object.entries(s.genres).forEach(([g, c], k) => hist.append(
    el("span", { text: g }),
    el("div", { class: "bar", style: `--c: ${labelColour(names, k)}; width: ${(100 * c / max).toFixed(1)}%` }),
    el("span", { class: "muted", text: String(c) })));
  if (s.tags.length) {
    document.getElementById("tagshead").hidden = false;
    const t = document.getElementById("tags");
    t.hidden = false;
    t.textContent = `${s.tags.length} style/mood tags per track (colour the map by one on the map page): ${s.tags.join(", ")}`;
  }
  const dup = document.getElementById("duplicates");
  if (s.duplicates === null) dup.append(el("p", { class: "muted", text: "not known for this catalog" }));
  else if (!s.duplicates.length) dup.append(el("p", { class: "muted", text: "none found" }));
  else dup.append(el("table", {}, ...s.duplicates.map((g) => el("tr", {}, el("td", { text: g.join("  ·  ") })))));
  const fail = document.getElementById("failures");
  if (!s.failures.length) fail.append(el("p", { class: "muted", text: "none" }));
  else fail.append(el("table", {}, el("tr", {}, el("th", { text: "file" }), el("th", { text: "reason" })),
    ...s.failures.map((f) => el("tr", {}, el("td", { text: f.path }), el("td", { class: "err", text: f.error })))));
  setStatus(`generation ${s.generation}`);
  genrerec.ready = true;
}

showLibrary();
