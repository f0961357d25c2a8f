"use strict";
// Shared helpers for the pages. All text from the library goes in through
// textContent (never innerHTML), so tags and file names cannot inject markup.

const genrerec = (window.genrerec = window.genrerec || { ready: false });

// 20 distinguishable colours (Tableau 20 order, bright first).
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d", "#f1ce63", "#d4a6c8",
  "#fabfd2", "#d7b5a6", "#79706e"];

function genreColour(i) { return PALETTE[i % PALETTE.length]; }

// The genre call of a track is a genre or "uncertain" (the model's top genre should not be trusted): grey.
const UNCERTAIN = "uncertain", UNCERTAIN_COLOUR = "#8a8f98";
function labelColour(names, k) { return names[k] === UNCERTAIN ? UNCERTAIN_COLOUR : genreColour(k); }

// What a track shows: its style tags first, then the genre call ("ambient, chill · uncertain", "rock, guitar · rock 91%").
function tagsThenGenre(style, genre, genres) {
  const p = genres && genre in genres ? ` ${Math.round(genres[genre] * 100)}%` : "";
  const call = genre === UNCERTAIN ? UNCERTAIN : genre ? `${genre}${p}` : "";
  const tags = (style || []).join(", ");
  return tags && call ? `${tags} · ${call}` : tags || call;
}

// Viridis-like ramp for tag scores in [0, 1].
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function rampColour(v) {
  v = Math.max(0, Math.min(1, v)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(v)), f = v - i, a = RAMP[i], b = RAMP[i + 1];
  return `rgb(${a.map((x, k) => Math.round(x + (b[k] - x) * f)).join(",")})`;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function api(path, body, opts = {}) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": typeof body === "string" ? "text/plain" : "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
  const res = await fetch(path, { ...init, signal: opts.signal });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return opts.raw ? res : res.json();
}

function setStatus(text, isError = false) {
  const s = document.getElementById("status");
  if (!s) return;
  s.textContent = text;
  s.classList.toggle("error", isError);
}

function fmtTime(s) {
  if (s == null) return "";
  s = Math.round(s);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

