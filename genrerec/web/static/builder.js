"use strict";
// The playlist builder: a history (search, map, .m3u), n and a temperature
// slider; the playlist is recomputed live on every change. Only the newest
// request's answer is shown, so a fast slider never shows a stale list.

const $ = (id) => document.getElementById(id);

const state = {
  history: [],            // [{id, name}]
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

const search = debounce(async (q) => {
  const ul = $("results");
  if (!q.trim()) { ul.replaceChildren(); return; }
  try {
    const r = await api(`/api/tracks?q=${encodeURIComponent(q)}&limit=30`);
    ul.replaceChildren(...r.tracks.map((t) => el("li", { "data-id": t.id },
      el("button", { title: "Play", text: "▶", onclick: () => play(t.id) }),
      el("span", { class: "name", title: t.path }, t.name, el("span", { class: "meta", text: `${t.genre} · ${t.path}` })),
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

// --- playlist ---
async function refresh() {
  const no = ++state.requestNo;
  const n = Math.max(1, Math.min(200, parseInt($("n").value, 10) || 15));
  const temperature = parseFloat($("temperature").value);
  $("seed").textContent = `seed ${state.seed}`;
  if (!state.history.length) {
    state.picks = []; renderPlaylist(); return;
  }
  try {
    const body = { history: state.history.map((h) => h.id), n, temperature, seed: state.seed, exclude: [...state.removed] };
    const r = await api("/api/recommend", body);
    if (no !== state.requestNo) return; // a newer request is on its way
    state.picks = r.picks;
    renderPlaylist();
    genrerec.shown = body; // what the list on screen answers (tests wait on it)
    setStatus(`${r.picks.length} picks at temperature ${temperature.toFixed(2)} (${Math.round(r.server_ms)} ms on the server)`);
  } catch (e) {
    if (no === state.requestNo) setStatus(e.message, true);
  }
}
const refreshSoon = debounce(refresh, 60);

function renderPlaylist() {
  const ol = $("playlist");
  ol.replaceChildren(...state.picks.map((p) => {
    const meta = topGenres(p.genres, 1) + (p.because ? ` · because of ${p.because.name}` : "");
    return el("li", { "data-id": p.id, onmouseenter: () => genrerec.map.setFocus(p.id),
      onmouseleave: () => genrerec.map.setFocus(null) },
      el("button", { title: "Play", text: "▶", onclick: () => play(p.id) }),
      el("span", { class: "dot", style: `background: ${genreColour(genrerec.map.data.genres.indexOf(Object.keys(p.genres)[0]))}` }),
      el("span", { class: "name", title: `${p.path}\n${meta}` }, p.name, el("span", { class: "meta", text: meta })),
      el("span", { class: "score", title: "similarity to the taste it was drawn for", text: p.score.toFixed(3) }),
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
  $("search").addEventListener("input", (e) => search(e.target.value));
  $("temperature").addEventListener("input", (e) => { $("tval").textContent = Number(e.target.value).toFixed(2); refreshSoon(); });
  $("n").addEventListener("change", refresh);
  $("reroll").addEventListener("click", () => { state.seed = Math.floor(Math.random() * 2 ** 31); refresh(); });
  $("save").addEventListener("click", save);
  $("resetview").addEventListener("click", () => map.resetView());
  $("m3u").addEventListener("change", (e) => { if (e.target.files[0]) loadM3u(e.target.files[0]); e.target.value = ""; });
  $("addplaying").addEventListener("click", () => { if (state.playingId != null) addToHistory(state.playingId); });
  $("colour").addEventListener("change", (e) => map.setColour(e.target.value).catch((err) => setStatus(err.message, true)));
  $("player").addEventListener("error", () => setStatus(`track ${state.playingId} cannot be played here`, true));
  try {
    const d = await map.load();
    d.ids.forEach((id, i) => state.names.set(id, d.names[i]));
    for (const t of d.tags) $("colour").append(el("option", { value: `tag:${t}`, text: `tag: ${t}` }));
    renderHistory();
    refresh();
    setStatus(d.ids.length ? "click a point to listen; search to build a history" : "the library has no tracks yet");
    genrerec.readyAt = performance.now();
    genrerec.ready = true;
  } catch (e) {
    setStatus(`cannot load the map: ${e.message}`, true);
  }
}

start();
