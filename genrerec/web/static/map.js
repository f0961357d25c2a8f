"use strict";
// The library map: one point per track on a canvas (not one DOM node per
// point), so 20,000 tracks pan and zoom smoothly. Hover shows a track, click
// plays it; history tracks and playlist picks are ringed. Points are coloured
// by genre call (a genre, or "uncertain" in grey), by one tag's score, or by cluster (/api/map/clusters).

class MusicMap {
  constructor(canvas, tooltip, legend, onPick) {
    this.canvas = canvas; this.ctx = canvas.getContext("2d");
    this.tooltip = tooltip; this.legend = legend; this.onPick = onPick;
    this.view = { cx: 0, cy: 0, zoom: 1 };
    this.history = new Set(); this.picks = new Set(); this.playing = null; this.focus = null; this.hover = null;
    this.colourBy = "genre"; this.tagValues = null; this.clusters = null;
    this.drawCount = 0; this.visible = 0; this.pending = false;
    this._wire();
  }

  async load() {
    const d = await api("/api/map");
    this.data = d;
    this.n = d.ids.length;
    this.x = Float32Array.from(d.x); this.y = Float32Array.from(d.y);
    this.row = new Map(d.ids.map((id, i) => [id, i]));
    this._buildGrid();
    this.resize();
    this._legend();
    return d;
  }

  // --- geometry ---
  _base() { return Math.min(this.w, this.h) / 2 * 0.94; }
  toScreen(i) {
    const s = this._base() * this.view.zoom;
    return { x: this.w / 2 + (this.x[i] - this.view.cx) * s, y: this.h / 2 - (this.y[i] - this.view.cy) * s };
  }
  toData(px, py) {
    const s = this._base() * this.view.zoom;
    return { x: (px - this.w / 2) / s + this.view.cx, y: -(py - this.h / 2) / s + this.view.cy };
  }
  screenOf(id) { const i = this.row.get(id); return i === undefined ? null : this.toScreen(i); }

  _buildGrid() {
    const G = (this.G = Math.max(8, Math.min(256, Math.round(Math.sqrt(this.n / 2)))));
    const cells = Array.from({ length: G * G }, () => []);
    for (let i = 0; i < this.n; i++) cells[this._cell(this.x[i]) + G * this._cell(this.y[i])].push(i);
    this.cells = cells;
  }
  _cell(v) { return Math.max(0, Math.min(this.G - 1, Math.floor((v + 1) / 2 * this.G))); }

  nearest(px, py, maxPx = 9) {
    if (!this.n) return null;
    const p = this.toData(px, py), r = maxPx / (this._base() * this.view.zoom), G = this.G;
    const x0 = this._cell(p.x - r), x1 = this._cell(p.x + r), y0 = this._cell(p.y - r), y1 = this._cell(p.y + r);
    let best = null, bd = r * r;
    for (let cy = y0; cy <= y1; cy++) for (let cx = x0; cx <= x1; cx++) {
      for (const i of this.cells[cx + G * cy]) {
        const dx = this.x[i] - p.x, dy = this.y[i] - p.y, d = dx * dx + dy * dy;
        if (d <= bd) { bd = d; best = i; }
      }
    }
    return best;
  }

  // --- drawing ---
  resize() {
    const r = this.canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    this.w = r.width; this.h = r.height;
    this.canvas.width = Math.round(r.width * dpr); this.canvas.height = Math.round(r.height * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.draw();
  }
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  _colourGroups() {
    // Points grouped by fill colour: one fillStyle change per group, not per point.
    const groups = new Map();
    const key = this.tagValues ? (i) => Math.round(this.tagValues[i] * 31)
      : this.clusters ? (i) => this.clusters.labels[i] : (i) => this.data.genre[i];
    for (let i = 0; i < this.n; i++) {
      const k = key(i);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = []));
      g.push(i);
    }
    const colour = this.tagValues ? (k) => rampColour(k / 31)
      : this.clusters ? (k) => genreColour(k) : (k) => labelColour(this.data.genres, k);
    return [...groups].map(([k, idx]) => [colour(k), idx]);
  }

  draw() {
    if (!this.data) return;
    const ctx = this.ctx, w = this.w, h = this.h;
    ctx.clearRect(0, 0, w, h);
    const focus = this.history.size || this.picks.size;
    // points shrink as the library grows (6 px at 100 tracks, 2.3 px at 20,000) and grow as you zoom in
    const size = Math.max(1.5, Math.min(10, (2 + 40 / Math.sqrt(Math.max(this.n, 1))) * Math.sqrt(this.view.zoom)));
    ctx.globalAlpha = focus ? 0.7 : 0.95;
    let drawn = 0, visible = 0;
    for (const [colour, idx] of this._colourGroups()) {
      ctx.fillStyle = colour;
      for (const i of idx) {
        const p = this.toScreen(i);
        drawn++;
        if (p.x < -size || p.y < -size || p.x > w + size || p.y > h + size) continue;
        ctx.fillRect(p.x - size / 2, p.y - size / 2, size, size);
        visible++;
      }
    }
    ctx.globalAlpha = 1;
    this._rings(this.picks, "#3fe0ff", size / 2 + 4, 2);
    this._rings(this.history, "#ffffff", size / 2 + 6, 3);
    if (this.playing != null) this._rings(new Set([this.playing]), "#ff6b6b", size / 2 + 9, 3);
    if (this.focus != null) this._rings(new Set([this.focus]), "#3fe0ff", size / 2 + 10, 2);
    if (this.hover != null) this._rings(new Set([this.data.ids[this.hover]]), "#ffffff", size / 2 + 5, 1);
    this.drawCount = drawn; this.visible = visible;
    document.getElementById("mapinfo").textContent =
      `${this.n.toLocaleString()} tracks · ${this.data.method} projection` + (this.view.zoom > 1.01 ? ` · zoom ${this.view.zoom.toFixed(1)}×` : "");
  }

  _rings(ids, colour, r, width) {
    const ctx = this.ctx;
    ctx.strokeStyle = colour; ctx.lineWidth = width;
    for (const id of ids) {
      const i = this.row.get(id);
      if (i === undefined) continue;
      const p = this.toScreen(i);
      ctx.beginPath(); ctx.arc(p.x, p.y, r, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  _legend() {
    const L = this.legend;
    L.replaceChildren();
    if (this.tagValues) {
      const stops = RAMP.map((c, k) => `rgb(${c}) ${(k / (RAMP.length - 1)) * 100}%`).join(",");
      L.append(el("span", { class: "muted", text: `${this.colourBy.slice(4)}: 0` }),
        el("i", { class: "ramp", style: `background: linear-gradient(90deg, ${stops})` }), el("b", { text: "1" }));
      return;
    }
    if (this.clusters) {
      const c = this.clusters;
      c.names.forEach((name, k) => L.append(el("span", { style: `--c: ${genreColour(k)}`, text: `${name} ${c.sizes[k]}` })));
      L.append(el("span", { class: "muted", text: `k = ${c.k}${c.auto ? " (auto: best silhouette)" : ""}` }));
      return;
    }
    const counts = new Array(this.data.genres.length).fill(0);
    for (const g of this.data.genre) counts[g]++;
    this.data.genres.forEach((g, k) => {
      if (counts[k]) L.append(el("span", { style: `--c: ${labelColour(this.data.genres, k)}`, text: `${g} ${counts[k]}` }));
    });
    L.append(el("span", { class: "ring", style: "--c: #ffffff", text: "history" }),
      el("span", { class: "ring", style: "--c: #3fe0ff", text: "playlist" }),
      el("span", { class: "ring", style: "--c: #ff6b6b", text: "playing" }));
  }

  async setColour(mode) {
    this.colourBy = mode;
    this.tagValues = null; this.clusters = null;
    if (mode.startsWith("tag:")) {
      const r = await api(`/api/map/tags/${encodeURIComponent(mode.slice(4))}`);
      this.tagValues = Float32Array.from(r.values);
    } else if (mode === "cluster") {
      this.clusters = await api("/api/map/clusters?k=auto");
    }
    this._legend();
    this.redraw();
  }

  highlight(historyIds, pickIds) {
    this.history = new Set(historyIds); this.picks = new Set(pickIds);
    this.redraw();
  }
  setPlaying(id) { this.playing = id; this.redraw(); }
  setFocus(id) { this.focus = id; this.redraw(); }
  resetView() { this.view = { cx: 0, cy: 0, zoom: 1 }; this.redraw(); }

  // --- interaction ---
  _wire() {
    const c = this.canvas;
    let drag = null;
    window.addEventListener("resize", () => this.resize());
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
      const before = this.toData(px, py);
      this.view.zoom = Math.max(0.5, Math.min(400, this.view.zoom * Math.exp(-e.deltaY * 0.0015)));
      const after = this.toData(px, py);
      this.view.cx += before.x - after.x; this.view.cy += before.y - after.y;
      this.redraw();
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, cx: this.view.cx, cy: this.view.cy, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      const r = c.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; c.classList.add("dragging"); }
        if (drag.moved) {
          const s = this._base() * this.view.zoom;
          this.view.cx = drag.cx - dx / s; this.view.cy = drag.cy + dy / s;
          this.tooltip.hidden = true;
          this.redraw();
          return;
        }
      }
      this._hover(this.nearest(px, py), px, py);
    });
    c.addEventListener("pointerup", (e) => {
      const r = c.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
      if (drag && !drag.moved) {
        const i = this.nearest(px, py);
        if (i != null) this.onPick(this.data.ids[i]);
      }
      drag = null; c.classList.remove("dragging");
    });
    c.addEventListener("pointerleave", () => this._hover(null));
  }

  _hover(i, px, py) {
    if (i === this.hover) return;
    this.hover = i;
    const t = this.tooltip;
    if (i == null) { t.hidden = true; this.redraw(); return; }
    const genre = this.data.genres[this.data.genre[i]];
    const style = this.data.style ? this.data.style[i] : "";
    const extra = this.tagValues ? ` · ${this.colourBy.slice(4)} ${this.tagValues[i].toFixed(2)}`
      : this.clusters ? ` · ${this.clusters.names[this.clusters.labels[i]]}` : "";
    t.replaceChildren(el("b", { text: this.data.names[i] }), el("br"),
      el("span", { class: "muted", text: `${style ? style + " · " : ""}${genre}${extra} · click to play` }));
    t.hidden = false;
    t.style.left = `${Math.min(px + 12, this.w - 260)}px`; t.style.top = `${py + 12}px`;
    this.redraw();
  }
}
