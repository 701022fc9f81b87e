"""GIF and MP4 of a prediction rendered on the server with matplotlib: truth and prediction
overlaid (or side by side), drawn as their family is (particles with trails, molecules and
proteins with bonds, bodies with bones), the prediction's nodes coloured by their error on one
scale for the whole window, the frame's time and error in each frame's title.

GIF frames are written by Pillow, MP4 by the ffmpeg binary of the imageio-ffmpeg wheel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

TRUTH, PRED = "#2b8a3e", "#d9480f"
ERROR_COLOURS = ["#ffa94d", "#e8590c", "#5c0a0a"]  # low -> high error, as in the app
NO_TRUTH = "#adb5bd"  # a predicted node with no truth to score it against (past the data's frames)


def graph_edges(family, meta: dict, x0: np.ndarray) -> np.ndarray | None:
    """The lines to draw between nodes (2, E): a body's bones, the bonds of a molecule or a
    protein backbone; None for particles (the family's ``drawn_edges``)."""
    return family.drawn_edges(meta, x0)


def _segments(pos: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.stack([pos[edges[0]], pos[edges[1]]], axis=1)


def render_animation(out: dict, family, meta: dict, path: str | Path, layout: str = "overlay",
                     fps: float = 8.0, title: str = "", dpi: int = 80, colour_title: str | None = None) -> Path:
    """Write ``out`` (``egno.service.inference.predict_one``'s dict) as an animation, one frame per time
    (the input first), to ``path`` (.gif or .mp4). ``layout``: 'overlay' (one panel) or 'side'
    (truth left, prediction right). The truth may be None, or NaN past the data's frames (a
    chained rollout): it is drawn as far as it goes, and nodes without one are grey.
    ``colour_title``: what ``out.node_error`` is, for the colour bar (default: the squared error)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    path = Path(path)
    assert path.suffix.lower() in (".gif", ".mp4"), f"{path.name}: write a .gif or an .mp4"
    assert layout in ("overlay", "side"), f"layout 'overlay' or 'side', not {layout!r}"
    x0, pred, truth = out.x, out.pred, out.truth
    pred_path = np.concatenate([x0[None], pred])
    truth_path = None if truth is None else np.concatenate([x0[None], truth])
    err = np.zeros(pred_path.shape[:2])
    if out.node_error is not None:
        err[1:] = out.node_error
    scored = err[np.isfinite(err)]
    times = np.concatenate([[0.0], np.asarray(out.t) * out.window])
    unit = family.time_unit.split(" (")[0]
    length = family.length_unit.split(" (")[0]
    edges = graph_edges(family, meta, x0)
    cmap = LinearSegmentedColormap.from_list("error", ERROR_COLOURS).with_extremes(bad=NO_TRUTH)
    norm = Normalize(0.0, max(float(scored.max()) if scored.size else 0.0, 1e-12))

    side = layout == "side" and truth_path is not None
    fig = plt.figure(figsize=(9 if side else 6, 5), dpi=dpi)
    axes = [fig.add_subplot(1, 2 if side else 1, k + 1, projection="3d") for k in range(2 if side else 1)]
    everything = np.concatenate([p.reshape(-1, 3) for p in (pred_path, truth_path) if p is not None])
    everything = everything[np.isfinite(everything).all(1)]  # no truth past the data's frames
    centre = (everything.max(0) + everything.min(0)) / 2
    half = (everything.max(0) - everything.min(0)).max() / 2 * 1.05 + 1e-9
    artists = []
    for k, ax in enumerate(axes):
        for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre):
            setter(c - half, c + half)
        ax.set_box_aspect((1, 1, 1))
        ax.tick_params(labelsize=6)
        if family.up_axis == "y":
            ax.view_init(elev=15, azim=-60, vertical_axis="y")
        if side:
            ax.set_title("ground truth" if k == 0 else "prediction", fontsize=9)
        artists.append(_panel(ax, pred_path if not side or k == 1 else None,
                              truth_path if not side or k == 0 else None, edges, err, cmap, norm))
    if out.node_error is not None:
        label = colour_title or (f"squared error ({length}²)" if length else "squared error")
        _colour_bar(fig, axes, cmap, norm, label)
    heading = fig.suptitle("", fontsize=9)

    def draw(k: int):
        for a in artists:
            if "truth_lines" in a:
                a["truth_lines"].set_segments(_segments(truth_path[k], edges))
            if "pred_lines" in a:
                a["pred_lines"].set_segments(_segments(pred_path[k], edges))
            if "truth_pts" in a:
                a["truth_pts"]._offsets3d = tuple(truth_path[k].T)
            if "pred_pts" in a:
                a["pred_pts"]._offsets3d = tuple(pred_path[k].T)
                a["pred_pts"].set_array(err[k])
        when = "input" if k == 0 else f"t = {times[k]:.3g} {unit}"
        mse = ""
        if out.node_error is not None and k and np.isfinite(err[k]).all():
            value = err[k].mean()
            mse = f" · mean {colour_title} {value:.3g}" if colour_title else f" · MSE {value:.3g} {length}²"
        heading.set_text(f"{title}\n{when}{mse}" if title else f"{when}{mse}")
        return []

    animation = FuncAnimation(fig, draw, frames=len(pred_path), blit=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    animation.save(str(path), writer=_writer(path, fps), dpi=dpi)
    plt.close(fig)
    return path


def _colour_bar(fig, axes, cmap, norm, label: str) -> None:
    """A horizontal colour bar under the panels."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.6, pad=0.08,
                       orientation="horizontal")
    bar.set_label(label, fontsize=8)
    bar.ax.xaxis.set_major_formatter(FormatStrFormatter("%.2g"))  # no offset text over the label


def _panel(ax, pred_path, truth_path, edges, err, cmap, norm) -> dict:
    """Draw the input frame of the prediction and the truth (either may be None) on one 3D axis;
    the artists ``draw`` moves frame by frame."""
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    a = {}
    if edges is not None and edges.size:
        if truth_path is not None:
            a["truth_lines"] = ax.add_collection3d(Line3DCollection(
                _segments(truth_path[0], edges), colors=TRUTH, linewidths=1.0, alpha=0.8))
        if pred_path is not None:
            a["pred_lines"] = ax.add_collection3d(Line3DCollection(
                _segments(pred_path[0], edges), colors=PRED, linewidths=1.8))
    small = err.shape[1] > 100
    if truth_path is not None and (edges is None or not small):
        a["truth_pts"] = ax.scatter(*truth_path[0].T, s=8 if small else 30, marker="D",
                                    facecolors="none", edgecolors=TRUTH, depthshade=False)
    if pred_path is not None:
        a["pred_pts"] = ax.scatter(*pred_path[0].T, c=err[0], cmap=cmap, norm=norm,
                                   s=4 if small else 30, depthshade=False)
    return a


def _writer(path: Path, fps: float):
    """Pillow for a GIF, ffmpeg (from imageio-ffmpeg's wheel) with H.264 for an MP4."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter, PillowWriter

    if path.suffix.lower() == ".gif":
        return PillowWriter(fps=fps)
    import imageio_ffmpeg

    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    return FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])


def animation_bytes(out: dict, family, meta: dict, suffix: str = ".gif", title: str = "",
                    layout: str = "overlay", colour_title: str | None = None) -> bytes:
    """``render_animation`` into memory (a temporary file): the bytes of a GIF or an MP4."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = render_animation(out, family, meta, Path(tmp) / f"render{suffix}", layout, title=title,
                                colour_title=colour_title)
        return path.read_bytes()
