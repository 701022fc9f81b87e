"""Plotly figures drawn by plotly.js in the page itself, updated in place.

``st.plotly_chart`` gives its element an identity that includes the figure, so every new figure
(another sample, a moved rotation slider) mounts a new chart: a new WebGL context for each 3D
scene, about a second of software rendering here. This element is keyed by the caller only, and
its script calls ``Plotly.react`` on the div it already has, so the scene and the camera are kept.

plotly.js is the copy that ships inside the installed ``plotly`` package (the same version that
built the figure), served by Streamlit's static file serving from ``app/static`` (git-ignored,
copied on first import), so nothing is fetched from a CDN.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

from app.player import PLAYER_CSS, PLAYER_JS

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _serve_plotly_js() -> None:
    target = STATIC / "plotly.min.js"
    if not target.exists() or target.stat().st_size != PLOTLY_JS.stat().st_size:
        STATIC.mkdir(exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(PLOTLY_JS, tmp)
        tmp.replace(target)  # atomic: a concurrent server never serves half a file


_serve_plotly_js()

_JS = PLAYER_JS + """
function plotlyReady() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__egnoPlotly) {
    window.__egnoPlotly = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL('app/static/plotly.min.js', document.baseURI).href;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__egnoPlotly = null; reject(new Error('plotly.js did not load')); };
      document.head.appendChild(s);
    });
  }
  return window.__egnoPlotly;
}
export default function ({ parentElement, data }) {
  let div = parentElement.querySelector('div.egno-plotly');
  if (!div) {
    div = document.createElement('div');
    div.className = 'egno-plotly';
    div.style.width = '100%';
    parentElement.appendChild(div);
  }
  // One Plotly.react at a time per plot, always with the newest figure: updates that arrive
  // while one is drawn (a slider dragged) replace each other instead of overlapping.
  div.__next = data;
  if (div.__drawing) return;
  div.__drawing = true;
  const drawNext = () => {
    const d = div.__next;
    div.__next = null;
    if (!d) { div.__drawing = false; return; }
    const fig = JSON.parse(d.figure);
    const config = Object.assign({displaylogo: false, responsive: true}, JSON.parse(d.config));
    const player = d.player ? JSON.parse(d.player) : null;
    plotlyReady()
      .then(P => P.react(div, {data: fig.data, layout: fig.layout, frames: fig.frames || [], config})
        .then(() => {
          if (player) attachPlayer(P, div, player);
          listenFrames(P, div, d.listen ? JSON.parse(d.listen) : null);
        }))
      .catch(e => { div.textContent = 'The plot could not be drawn: ' + e.message; })
      .then(drawNext);
  };
  drawNext();
}
function attachPlayer(P, div, player) {
  const show = k => P.animate(div, [String(k)], {mode: 'immediate', transition: {duration: 0},
                                                 frame: {duration: 0, redraw: true}});
  const o = {labels: player.labels, show, start: player.start, drawn: true};
  if (!div.__player) div.__player = egnoPlayer(div.parentElement, o);
  else div.__player.load(o);
}
function listenFrames(P, div, listen) {
  // an error chart beside a 3Dmol view: move its 'shown frame' line to the frame the view shows
  div.__listen = listen;
  if (div.__listening) return;
  div.__listening = true;
  window.addEventListener('message', e => {
    const l = div.__listen, m = e.data;
    if (!l || !m || m.egnoGroup !== l.group || !div.data) return;
    const i = div.data.findIndex(t => t.name === 'shown frame');
    const x = l.times[m.frame];
    if (i >= 0 && x !== undefined) P.restyle(div, {x: [[x, x]]}, [i]);
  });
}
"""
_component = st.components.v2.component("egno_plotly", js=_JS, css=PLAYER_CSS,
                                        isolate_styles=False)
PLAYER_HEIGHT = 44  # px under an animated figure for the player's bar (two rows when narrow)


def plotly_view(fig: go.Figure, key: str, config: dict | None = None, labels: list[str] | None = None,
                start: int = 0, listen: tuple[str, list[float]] | None = None) -> None:
    """Draw ``fig`` (updating the plot already drawn under ``key`` when there is one). A figure
    with frames gets the frame player (app/player.py) under it, ``labels`` naming its frames;
    ``listen=(group, times)``: move the figure's 'shown frame' trace to ``times[k]`` when the
    3Dmol view of that group shows frame k."""
    height = int(fig.layout.height or 450)
    player = ""
    if fig.frames:
        meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
        labels = labels or meta.get("frame_labels") or [f"frame {k}" for k in range(len(fig.frames))]
        assert len(labels) == len(fig.frames), "one label per frame"
        player = json.dumps({"labels": labels, "start": int(start)})
        height += PLAYER_HEIGHT
    listened = json.dumps({"group": listen[0], "times": [float(t) for t in listen[1]]}) if listen else ""
    _component(data={"figure": fig.to_json(), "config": json.dumps(config or {}), "player": player,
                      "listen": listened}, key=key, height=height)

