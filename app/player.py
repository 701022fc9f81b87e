"""One frame player for every view: the same controls under a plotly figure (app/plotview.py) and
inside a 3Dmol view (app/mol3d.py), written in plain JS so both embed the same code.

Controls: one frame back, play/pause, one frame forward, speed 0.25×–4×, loop on/off, a frame
slider and the shown frame's time as text. The bar keeps its state on the element
(``data-frame``, ``data-playing``), which the browser tests read.
"""
from __future__ import annotations

import json

import numpy as np

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
BASE_INTERVAL_MS = 500  # one frame every half second at 1×

PLAYER_CSS = """
.egno-player{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:4px 0;
  font:13px system-ui,sans-serif;color:#212529}
.egno-player button{border:1px solid #ced4da;background:#f8f9fa;border-radius:4px;
  padding:2px 8px;cursor:pointer;font:inherit;min-width:2.2em}
.egno-player select{font:inherit}
.egno-player input[type=range]{flex:1 1 120px;min-width:100px}
.egno-player .egno-time{min-width:10em;font-variant-numeric:tabular-nums}
"""

PLAYER_JS = """
function egnoPlayer(host, opts) {
  // opts: {labels: [...], show: k => Promise|undefined, start: k, speed: 1, onFrame: k => void}
  const speeds = %(speeds)s, base = %(base)d;
  const bar = document.createElement('div');
  bar.className = 'egno-player';
  bar.innerHTML =
    '<button data-act="back" title="one frame back" aria-label="one frame back">‹</button>' +
    '<button data-act="play" title="play / pause" aria-label="play">▶</button>' +
    '<button data-act="fwd" title="one frame forward" aria-label="one frame forward">›</button>' +
    '<select data-act="speed" title="playback speed" aria-label="speed">' +
    speeds.map(s => '<option value="' + s + '"' + (s === 1 ? ' selected' : '') + '>' + s + '×</option>').join('') +
    '</select><label title="start again after the last frame">' +
    '<input type="checkbox" data-act="loop" checked> loop</label>' +
    '<input type="range" data-act="slider" min="0" step="1" aria-label="frame">' +
    '<span class="egno-time"></span>';
  host.appendChild(bar);
  const q = a => bar.querySelector('[data-act=' + a + ']');
  const slider = q('slider'), label = bar.querySelector('.egno-time'), playBtn = q('play');
  const st = {k: 0, playing: false, timer: null, busy: null, labels: [], show: null, onFrame: null};
  function setPlaying(p) {
    st.playing = p;
    bar.dataset.playing = p ? '1' : '0';
    playBtn.textContent = p ? '❚❚' : '▶';
    playBtn.setAttribute('aria-label', p ? 'pause' : 'play');
    if (!p && st.timer) { clearTimeout(st.timer); st.timer = null; }
  }
  function go(k) {
    const n = st.labels.length;
    st.k = Math.max(0, Math.min(n - 1, k));
    slider.value = st.k;
    bar.dataset.frame = st.k;
    label.textContent = st.labels[st.k] + '  (' + st.k + '/' + (n - 1) + ')';
    if (st.onFrame) st.onFrame(st.k);
    st.busy = Promise.resolve(st.show ? st.show(st.k) : null).catch(() => null);
    return st.busy;
  }
  function tick() {
    if (!st.playing) return;
    let next = st.k + 1;
    if (next >= st.labels.length) {
      if (!q('loop').checked) { setPlaying(false); return; }
      next = 0;
    }
    const began = performance.now();
    go(next).then(() => {
      if (!st.playing) return;
      const wait = base / parseFloat(q('speed').value) - (performance.now() - began);
      st.timer = setTimeout(tick, Math.max(0, wait));
    });
  }
  playBtn.onclick = () => {
    if (st.playing) { setPlaying(false); return; }
    if (st.k >= st.labels.length - 1 && !q('loop').checked) go(0);
    setPlaying(true); tick();
  };
  q('back').onclick = () => { setPlaying(false); go(st.k - 1); };
  q('fwd').onclick = () => { setPlaying(false); go(st.k + 1); };
  slider.oninput = () => { setPlaying(false); go(parseInt(slider.value)); };
  const api = {
    bar, go, st, setPlaying,
    load(o) {
      setPlaying(false);
      st.labels = o.labels; st.show = o.show; st.onFrame = o.onFrame || null;
      slider.max = o.labels.length - 1;
      if (!o.drawn) return go(o.start || 0);
      st.show = null;  // the figure already shows its start frame
      const done = go(o.start || 0);
      st.show = o.show;
      return done;
    },
  };
  api.load(opts);
  return api;
}
""" % {"speeds": json.dumps(list(SPEEDS)), "base": BASE_INTERVAL_MS}


def readable_time(t: float, unit: str) -> str:
    """A time in its unit with three significant digits and no exponent: femtoseconds past 1000
    read as picoseconds (1312.5 fs -> '1.31 ps')."""
    t = float(t)
    if unit == "fs" and abs(t) >= 1000:
        t, unit = t / 1000, "ps"
    text = f"{t:,.0f}" if abs(t) >= 1e3 else f"{t:.3g}" if t == 0 or abs(t) >= 1e-3 else f"{t:.2e}"
    return f"{text} {unit}".rstrip()


def time_labels(times: np.ndarray, unit: str) -> list[str]:
    """Readable labels for the input and each target time (physical units): 'input',
    't = 0.0583 ps', …, three significant digits so that P = 50 stays short."""
    return ["input"] + [f"t = {readable_time(t, unit)}" for t in np.asarray(times)]
