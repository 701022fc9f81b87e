"""BVH motion files (a user's own capture) to joint positions: a small reader of our own.

``bvhio`` (the maintained BVH package on PyPI) was tried first; its line reader loops forever at
the end of a truncated file, which an upload server cannot afford, so this module parses the
format itself (it is small) and does the forward kinematics in numpy, vectorised over frames.

Conventions (as bvhio and the common BVH exporters): a joint's local rotation is the product of
its rotation channels in the order listed (``Zrotation Xrotation Yrotation`` → Rz·Rx·Ry,
degrees); its position is parent position + parent rotation · offset, where position channels
replace the offset's components. Every joint (not end sites) becomes a node; bones join each
joint to its parent. Positions come out in the file's own length unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egno import limits
from egno.data.asf_amc import MAX_FRAMES, MocapFormatError
from egno.data.base import check_user_file

MAX_JOINTS = limits.MOTION_MAX_JOINTS
MAX_CHANNELS = limits.MOTION_MAX_CHANNELS
AXES = {"X": 0, "Y": 1, "Z": 2}


@dataclass
class BvhMotion:
    positions: np.ndarray  # (T, J, 3) in the file's unit
    joints: list[str]
    bones: np.ndarray      # (2, J-1): child, parent
    frame_time: float      # seconds between frames
    frames: int = 0        # frames in the file (positions may hold only the first ones)


@dataclass
class _Joint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]


def _rotations(axis: int, degrees: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about one axis."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    R = np.zeros((len(degrees), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[:, axis, axis] = 1
    R[:, i, i] = R[:, j, j] = c
    R[:, i, j], R[:, j, i] = -s, s
    return R


class _Tokens:
    def __init__(self, text: str, name: str):
        self.lines = text.splitlines()
        self.name, self.no = name, 0

    def next(self, what: str) -> list[str]:
        while self.no < len(self.lines):
            self.no += 1
            words = self.lines[self.no - 1].split()
            if words and not words[0].startswith("#"):  # a comment line (the app's downloads have one)
                return words
        raise MocapFormatError(f"{self.name}: file ends where {what} was expected")

    def fail(self, message: str):
        raise MocapFormatError(f"{self.name}, line {self.no}: {message}")


def _floats(t: _Tokens, words: list[str], n: int | None, what: str) -> np.ndarray:
    if n is not None and len(words) != n:
        t.fail(f"{what} needs {n} numbers, got {len(words)}")
    try:
        values = np.array([float(w) for w in words])
    except ValueError:
        t.fail(f"{what} has non-numeric values")
    if not np.isfinite(values).all():
        t.fail(f"{what} has NaN or inf")
    return values


def _hierarchy(t: _Tokens) -> list[_Joint]:
    if t.next("HIERARCHY") != ["HIERARCHY"]:
        t.fail("a BVH file starts with HIERARCHY")
    words = t.next("ROOT")
    if words[0] != "ROOT" or len(words) != 2:
        t.fail("expected 'ROOT name'")
    joints: list[_Joint] = []
    stack = [(words[1], -1)]  # joints whose block is about to open
    open_blocks: list[int | None] = []  # joint index per open brace (None: an end site)
    while stack or open_blocks:
        if stack:
            name, parent = stack.pop()
            if t.next("{") != ["{"]:
                t.fail(f"'{{' expected after joint {name}")
            words = t.next("OFFSET")
            if words[0] != "OFFSET":
                t.fail(f"OFFSET expected in joint {name}")
            offset = _floats(t, words[1:], 3, "OFFSET")
            if name is None:  # end site: offset only
                open_blocks.append(None)
                continue
            words = t.next("CHANNELS")
            if words[0] != "CHANNELS" or len(words) < 2:
                t.fail(f"CHANNELS expected in joint {name}")
            try:
                n = int(words[1])
            except ValueError:
                t.fail("channel count is not a number")
            if not 0 <= n <= MAX_CHANNELS:
                t.fail(f"{n} channels for joint {name}; a joint has at most {MAX_CHANNELS}")
            channels = words[2:]
            if n != len(channels) or any(c[1:] not in ("position", "rotation") or c[0] not in AXES
                                         for c in channels):
                t.fail(f"bad channels {channels} for joint {name}")
            joints.append(_Joint(name, parent, offset, channels))
            if len(joints) > MAX_JOINTS:
                t.fail(f"more than {MAX_JOINTS} joints")
            open_blocks.append(len(joints) - 1)
            continue
        words = t.next("'}' or a child joint")
        current = open_blocks[-1]
        if words == ["}"]:
            open_blocks.pop()
        elif words[0] == "JOINT" and len(words) == 2 and current is not None:
            stack.append((words[1], current))
        elif words[:2] == ["End", "Site"] and current is not None:
            stack.append((None, current))
        else:
            t.fail(f"unexpected '{' '.join(words)}' in the hierarchy")
    return joints


def read_bvh(path: Path, seconds: float | None = None) -> BvhMotion:
    """Parse ``path``; MocapFormatError (a ValueError) naming the file and line for anything
    malformed. Every motion row is checked; joint positions are computed for the first
    ``seconds`` of motion (all of it when None)."""
    path = Path(path)
    check_user_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as e:
        raise MocapFormatError(f"{path.name}: not a readable text BVH file ({e})") from None
    t = _Tokens(text, path.name)
    joints = _hierarchy(t)
    if t.next("MOTION") != ["MOTION"]:
        t.fail("MOTION expected after the hierarchy")
    words = t.next("Frames:")
    if words[0] != "Frames:" or len(words) != 2 or not words[1].isdigit():
        t.fail("expected 'Frames: N'")
    frames = int(words[1])
    words = t.next("Frame Time:")
    if words[:2] != ["Frame", "Time:"] or len(words) != 3:
        t.fail("expected 'Frame Time: seconds'")
    frame_time = float(_floats(t, words[2:], 1, "Frame Time")[0])
    if frames < 1 or frame_time <= 0:
        t.fail(f"{frames} frames with frame time {frame_time} s")
    if frames > MAX_FRAMES:
        t.fail(f"{frames} frames is over the limit of {MAX_FRAMES}")
    if frame_time * limits.MOTION_MIN_FPS > 1:
        t.fail(f"frame time {frame_time:g} s is over the limit of {1 / limits.MOTION_MIN_FPS:g} s")
    width = sum(len(j.channels) for j in joints)
    if frames * max(width, 1) * 2 > len(text):  # each value takes at least 2 characters
        t.fail(f"{frames} frames of {width} values cannot fit in the file's {len(text)} characters")
    rows = np.empty((frames, width))
    for f in range(frames):
        rows[f] = _floats(t, t.next(f"motion row {f + 1} of {frames}"), width, f"motion row {f + 1}")
    if seconds is not None:
        rows = rows[: int(np.ceil(seconds / frame_time)) + 2]
    pos = _forward_kinematics(joints, rows)
    if not np.isfinite(pos).all():
        raise MocapFormatError(f"{path.name}: joint positions overflow (offsets or positions too large)")
    return BvhMotion(pos, [j.name for j in joints],
                     np.array([[i, j.parent] for i, j in enumerate(joints) if j.parent >= 0]).T.reshape(2, -1),
                     frame_time, frames)


def _forward_kinematics(joints: list[_Joint], rows: np.ndarray) -> np.ndarray:
    frames = len(rows)
    pos = np.empty((frames, len(joints), 3))
    rot = np.empty((frames, len(joints), 3, 3))
    col = 0
    for i, j in enumerate(joints):
        local_t = np.broadcast_to(j.offset, (frames, 3)).copy()
        local_R = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
        for c in j.channels:
            values = rows[:, col]
            col += 1
            if c.endswith("position"):
                local_t[:, AXES[c[0]]] = values
            else:
                local_R = local_R @ _rotations(AXES[c[0]], values)
        if j.parent < 0:
            pos[:, i], rot[:, i] = local_t, local_R
        else:
            parent_R = rot[:, j.parent]
            pos[:, i] = pos[:, j.parent] + np.einsum("fab,fb->fa", parent_R, local_t)
            rot[:, i] = parent_R @ local_R
    return pos
