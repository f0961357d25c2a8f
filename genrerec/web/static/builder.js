"use strict";
// The playlist builder: a history (search, map, .m3u), n and a temperature
// slider; the playlist is recomputed live on every change. Only the newest
// request's answer is shown, so a fast slider never shows a stale list.
// Modes: from the history (/api/recommend), similar to the first history
// track, a path from the first to the second, a tag mix; every mode takes the
// filters and the avoid list. The defaults (temperature ...) come from
// /api/config: the same as the CLI's.

const $ = (id) => document.getElementById(id);

const state = {
  history: [],            // [{id, name}]
  avoid: [],              // [{id, name}]: never picked
  notIn: [],              // [{name, ids}]: playlists whose tracks are never picked (the CLI's --not-in)
  config: null,           // /api/config
  removed: new Set(),     // picks the listener removed: never offered again
  picks: [],
  seed: 1,
  names: new Map(),       // id -> display name, from the map
  playingId: null,
  requestNo: 0,
};

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// --- audio ---
function play(id) {
  const player = $("player");
  state.playingId = id;
  player.src = `/api/audio/${id}`;
  player.play().catch((e) => setStatus(`cannot play: ${e.message}`, true));
  $("nowplaying").textContent = state.names.get(id) || `track ${id}`;
  $("addplaying").hidden = state.history.some((h) => h.id === id);
  genrerec.map.setPlaying(id);
}

// --- history ---
function addToHistory(id) {
  if (state.history.some((h) => h.id === id)) return;
  state.history.push({ id, name: state.names.get(id) || `track ${id}` });
  if (id === state.playingId) $("addplaying").hidden = true;
  renderHistory();
  refresh();
}

function removeFromHistory(id) {
  state.history = state.history.filter((h) => h.id !== id);
  renderHistory();
  refresh();
}

function renderHistory() {
  const ul = $("history");
  ul.replaceChildren(...state.history.map((h) => el("li", { "data-id": h.id },
    el("button", { title: "Play", text: "▶", onclick: () => play(h.id) }),
    el("span", { class: "name", text: h.name, title: h.name }),
    el("button", { title: "Remove from history", text: "✕", onclick: () => removeFromHistory(h.id) }))));
  $("historyhint").hidden = state.history.length > 0;
}

// --- avoid list ---
function addToAvoid(id) {
  if (state.avoid.some((a) => a.id === id)) return;
  state.avoid.push({ id, name: state.names.get(id) || `track ${id}` });
  renderAvoid();
  refresh();
}

function renderAvoid() {
  $("avoid").replaceChildren(...state.avoid.map((a) => el("li", { "data-id": a.id },
    el("span", { class: "name", text: a.name, title: a.name }),
    el("button", { title: "Stop avoiding", text: "✕", onclick: () => {
      state.avoid = state.avoid.filter((x) => x.id !== a.id); renderAvoid(); refresh();
    } }))));
  $("avoidhint").hidden = state.avoid.length > 0;
  $("notin").replaceChildren(...state.notIn.map((p) => el("li", {},
    el("span", { class: "name", text: `not in ${p.name} (${p.ids.length} tracks)` }),
    el("button", { title: "Allow its tracks again", text: "✕", onclick: () => {
      state.notIn = state.notIn.filter((x) => x !== p); renderAvoid(); refresh();
    } }))));
}

const search = debounce(async (q) => {
  const ul = $("results");
  if (!q.trim()) { ul.replaceChildren(); return; }
  try {
    const r = await api(`/api/tracks?q=${encodeURIComponent(q)}&limit=30`);
    ul.replaceChildren(...r.tracks.map((t) => el("li", { "data-id": t.id },
      el("button", { title: "Play", text: "▶", onclick: () => play(t.id) }),
      el("span", { class: "name", title: t.path }, t.name, el("span", { class: "meta", text: `${t.genre} · ${t.path}` })),
      el("button", { class: "avoid", title: "Avoid: never pick it", text: "⊘", onclick: () => addToAvoid(t.id) }),
      el("button", { class: "add", title: "Add to history", text: "+", onclick: () => addToHistory(t.id) }))));
    if (r.total > r.tracks.length) ul.append(el("li", { class: "muted", text: `… ${r.total - r.tracks.length} more` }));
  } catch (e) { setStatus(e.message, true); }
}, 120);

async function loadM3u(file) {
  try {
    const r = await api("/api/history/m3u", await file.text());
    for (const t of r.tracks) {
      if (!state.history.some((h) => h.id === t.id)) state.history.push({ id: t.id, name: t.name });
    }
    renderHistory();
    setStatus(`${file.name}: ${r.tracks.length} tracks added` + (r.unknown_count ? `, ${r.unknown_count} not in the library` : ""));
    refresh();
  } catch (e) { setStatus(`${file.name}: ${e.message}`, true); }
}

// A playlist whose tracks the next playlists leave out (no repeats across playlists).
async function loadNotIn(file) {
  try {
    const r = await api("/api/history/m3u", await file.text());
    state.notIn = state.notIn.filter((p) => p.name !== file.name);
    state.notIn.push({ name: file.name, ids: r.tracks.map((t) => t.id) });
    renderAvoid();
    setStatus(`${file.name}: its ${r.tracks.length} tracks are left out` + (r.unknown_count ? `, ${r.unknown_count} not in the library` : ""));
    refresh();
  } catch (e) { setStatus(`${file.name}: ${e.message}`, true); }
}

// --- playlist ---
const HINTS = {
  recommend: "picks for the listener whose history is below",
  similar: "the tracks most like the first track of the list below",
  path: "a smooth path from the first track of the list below to the second",
  mix: "the tracks the model tags most strongly with every tag given",
};

function words(id) { return $(id).value.split(",").map((w) => w.trim()).filter(Boolean); }
function seconds(id) { const v = parseFloat($(id).value); return Number.isFinite(v) && v >= 0 ? v : null; }

function controlFields(extraAvoid) {
  const c = { min_duration: seconds("mindur"), max_duration: seconds("maxdur"), exclude_tags: words("extags"),
    exclude_genres: words("exgenres"), avoid: [...new Set([...state.avoid.map((a) => a.id), ...extraAvoid])],
    not_in: [...new Set(state.notIn.flatMap((p) => p.ids))] };
  const cap = parseInt($("maxperalbum").value, 10);
  if (Number.isFinite(cap) && cap >= 0) c.max_per_album = cap; // blank: the server's default for the mode
  return c;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v == null) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  }
  return q.toString();
}

// The request for the current mode: [url, body or undefined (GET), body to record, a reason it cannot run yet]
function request(mode, n, temperature) {
  const h = state.history.map((x) => x.id), removed = [...state.removed];
  if (mode === "recommend") {
    if (!h.length) return [null, null, null, "add tracks to the history"];
    const body = { history: h, n, temperature, seed: state.seed, exclude: removed, ...controlFields([]) };
    return ["/api/recommend", body, body];
  }
  const c = controlFields(removed);
  if (mode === "similar") {
    if (!h.length) return [null, null, null, "add the track to start from"];
    const params = { n, ...c };
    return [`/api/similar/${h[0]}?${query(params)}`, undefined, { track: h[0], ...params }];
  }
  if (mode === "path") {
    if (h.length < 2) return [null, null, null, "add two tracks: where the path starts, then where it ends"];
    const body = { start: h[0], end: h[1], n: Math.max(2, n), ...c };
    return ["/api/path", body, body];
  }
  const tags = words("mixtags");
  if (!tags.length) return [null, null, null, "type one or more tags"];
  const body = { tags, n, temperature, seed: state.seed, ...c };
  return ["/api/mix", body, body];
}

async function refresh() {
  const no = ++state.requestNo;
  const n = Math.max(1, Math.min(200, parseInt($("n").value, 10) || state.config.n));
  const temperature = parseFloat($("temperature").value);
  const mode = $("mode").value;
  $("seed").textContent = `seed ${state.seed}`;
  const [url, body, shown, missing] = request(mode, n, temperature);
  if (!url) {
    state.picks = []; renderPlaylist(); genrerec.shown = { mode, waiting: true, history: state.history.map((x) => x.id) };
    if (genrerec.ready) setStatus(missing);
    return;
  }
  try {
    const r = await api(url, body);
    if (no !== state.requestNo) return; // a newer request is on its way
    state.picks = mode === "similar" ? r.similar : mode === "path" ? r.tracks : r.picks;
    renderPlaylist();
    genrerec.shown = { mode, ...shown }; // what the list on screen answers (tests wait on it)
    const hot = mode === "recommend" || mode === "mix" ? ` at temperature ${temperature.toFixed(2)}` : "";
    const ms = r.server_ms != null ? ` (${Math.round(r.server_ms)} ms on the server)` : "";
    setStatus(`${state.picks.length} picks${hot}${ms}`);
  } catch (e) {
    if (no === state.requestNo) { setStatus(e.message, true); genrerec.shown = { mode, error: e.message }; }
  }
}

function setMode() {
  const mode = $("mode").value;
  $("modehint").textContent = HINTS[mode];
  $("mixrow").hidden = mode !== "mix";
  $("temperature").disabled = $("reroll").disabled = mode === "similar" || mode === "path";
  $("historytitle").textContent = mode === "recommend" ? "History" : mode === "mix" ? "History (not used by a mix)"
    : mode === "similar" ? "Track (the first below)" : "From (first) → to (second)";
  state.removed.clear();
  refresh();
}
const refreshSoon = debounce(refresh, 60);
const typedSoon = debounce(refresh, 250); // text fields: once the typing pauses

function renderPlaylist() {
  const ol = $("playlist");
  ol.replaceChildren(...state.picks.map((p) => {
    const meta = tagsThenGenre(p.style, p.genre, p.genres) + (p.because ? ` · because of ${p.because.name}` : "");
    const names = genrerec.map.data.genres;
    return el("li", { "data-id": p.id, onmouseenter: () => genrerec.map.setFocus(p.id),
      onmouseleave: () => genrerec.map.setFocus(null) },
      el("button", { title: "Play", text: "▶", onclick: () => play(p.id) }),
      el("span", { class: "dot", style: `background: ${labelColour(names, names.indexOf(p.genre))}` }),
      el("span", { class: "name", title: `${p.path}\n${meta}` }, p.name, el("span", { class: "meta", text: meta })),
      el("span", { class: "score", title: "similarity (tag mix: tag score)", text: p.score.toFixed(3) }),
      el("button", { class: "avoid", title: "Avoid: never pick it again", text: "⊘", onclick: () => addToAvoid(p.id) }),
      el("button", { class: "remove", title: "Remove this pick", text: "✕", onclick: () => removePick(p.id) }));
  }));
  $("save").disabled = state.picks.length === 0;
  genrerec.map.highlight(state.history.map((h) => h.id), state.picks.map((p) => p.id));
}

function removePick(id) {
  state.removed.add(id);
  state.picks = state.picks.filter((p) => p.id !== id);
  renderPlaylist();
  refresh();
}

async function save() {
  try {
    const res = await api("/api/playlist.m3u8", { ids: state.picks.map((p) => p.id) }, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: "genrerec-playlist.m3u8" });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setStatus(`saved ${state.picks.length} tracks as genrerec-playlist.m3u8`);
  } catch (e) { setStatus(e.message, true); }
}

// --- start ---
async function start() {
  const map = (genrerec.map = new MusicMap($("map"), $("tooltip"), $("legend"), play));
  const cfg = (state.config = await api("/api/config").catch(() => ({ temperature: 0.5, n: 15, tags: [] })));
  $("temperature").value = cfg.temperature; // the CLI's default, from the server
  $("tval").textContent = Number(cfg.temperature).toFixed(2);
  $("n").value = cfg.n;
  $("maxperalbum").placeholder = cfg.max_per_album;
  $("taglist").replaceChildren(...cfg.tags.map((t) => el("option", { value: t })));
  if (!cfg.tags.length) $("mode").querySelector("option[value=mix]").disabled = true;
  $("modehint").textContent = HINTS.recommend;
  $("mode").addEventListener("change", setMode);
  for (const id of ["mixtags", "mindur", "maxdur", "maxperalbum", "extags", "exgenres"]) {
    $(id).addEventListener("input", typedSoon);
  }
  $("search").addEventListener("input", (e) => search(e.target.value));
  $("temperature").addEventListener("input", (e) => { $("tval").textContent = Number(e.target.value).toFixed(2); refreshSoon(); });
  $("n").addEventListener("change", refresh);
  $("reroll").addEventListener("click", () => { state.seed = Math.floor(Math.random() * 2 ** 31); refresh(); });
  $("save").addEventListener("click", save);
  $("resetview").addEventListener("click", () => map.resetView());
  $("m3u").addEventListener("change", (e) => { if (e.target.files[0]) loadM3u(e.target.files[0]); e.target.value = ""; });
  $("notinfile").addEventListener("change", (e) => { if (e.target.files[0]) loadNotIn(e.target.files[0]); e.target.value = ""; });
  $("addplaying").addEventListener("click", () => { if (state.playingId != null) addToHistory(state.playingId); });
  $("colour").addEventListener("change", (e) => map.setColour(e.target.value).catch((err) => setStatus(err.message, true)));
  $("player").addEventListener("error", () => setStatus(`track ${state.playingId} cannot be played here`, true));
  try {
    const d = await map.load();
    d.ids.forEach((id, i) => state.names.set(id, d.names[i]));
    for (const t of d.tags) $("colour").append(el("option", { value: `tag:${t}`, text: `tag: ${t}` }));
    renderHistory();
    renderAvoid();
    refresh();
    setStatus(d.ids.length ? "click a point to listen; search to build a history" : "the library has no tracks yet");
    genrerec.readyAt = performance.now();
    genrerec.ready = true;
  } catch (e) {
    setStatus(`cannot load the map: ${e.message}`, true);
  }
}

start();
