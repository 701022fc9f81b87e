"""Acclaim ASF (skeleton) / AMC (motion) reading and forward kinematics to 3D joint positions.

Conventions (as the CMU database's own viewer): a bone's `axis a_x a_y a_z XYZ` gives its local
frame C = Rz(a_z) Ry(a_y) Rx(a_x); a frame's dof angles (rx, ry, rz; missing ones 0) give
M = Rz Ry Rx; the bone's global rotation is L = L_parent C M C⁻¹ and its end point is
p = p_parent + length · L · direction. The root's translation comes from TX TY TZ of the AMC
frame. Positions are in the ASF length unit (CMU: `length 0.45`, i.e. 1 unit = 1/0.45 inch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egno import limits
from egno.data.base import check_user_file

MAX_FRAMES = limits.MOTION_MAX_FRAMES
MAX_JOINTS = limits.MOTION_MAX_JOINTS


class MocapFormatError(ValueError):
    """A malformed ASF or AMC file (the message names the file and line)."""


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def euler_xyz(rx: float, ry: float, rz: float) -> np.ndarray:
    """R = Rz Ry Rx (degrees): rotate about x, then y, then z (fixed axes)."""
    return _rot("z", rz) @ _rot("y", ry) @ _rot("x", rx)


@dataclass
class Bone:
    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray  # degrees, order XYZ
    dof: list[str] = field(default_factory=list)
    parent: str | None = None

    @property
    def C(self) -> np.ndarray:
        return euler_xyz(*self.axis)


@dataclass
class Skeleton:
    """Bones by name (the root first) in a parent-before-child order; units from the ASF."""

    bones: dict[str, Bone]
    root_order: list[str]
    length_unit: float  # the ASF `:units length` value

    @property
    def joints(self) -> list[str]:
        return list(self.bones)

    def edges(self) -> np.ndarray:
        """Bones as (2, n_joints - 1) child -> parent index pairs."""
        index = {n: i for i, n in enumerate(self.bones)}
        pairs = [(index[b.name], index[b.parent]) for b in self.bones.values() if b.parent]
        return np.array(pairs, dtype=np.int64).T


def _fail(path: Path, line_no: int, message: str):
    raise MocapFormatError(f"{path.name}, line {line_no}: {message}")


def read_asf(path: Path) -> Skeleton:
    """Parse an ASF skeleton. Raises MocapFormatError for anything it cannot use."""
    path = Path(path)
    check_user_file(path)
    try:
        lines = path.read_text(errors="strict").splitlines()
    except (UnicodeDecodeError, OSError) as e:
        raise MocapFormatError(f"{path.name}: not a readable text file ({e})") from None
    bones: dict[str, Bone] = {"root": Bone("root", np.zeros(3), 0.0, np.zeros(3))}
    section, current, root_order, unit, hierarchy = None, None, [], 1.0, []
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if line.startswith(":"):
            section = words[0]
            continue
        try:
            if section == ":units" and words[0] == "length":
                unit = float(words[1])
                if not (math.isfinite(unit) and unit > 0):
                    _fail(path, no, f"length unit {words[1]} is not a positive number")
            elif section == ":root":
                if words[0] == "order":
                    root_order = [w.upper() for w in words[1:]]
                elif words[0] == "axis" and words[1].upper() != "XYZ":
                    _fail(path, no, f"root axis order {words[1]} is not supported (XYZ is)")
            elif section == ":bonedata":
                current = _bone_line(words, current, bones, path, no)
            elif section == ":hierarchy" and words[0] not in ("begin", "end"):
                hierarchy.append((no, words))
        except MocapFormatError:
            raise
        except (ValueError, IndexError):
            _fail(path, no, f"cannot read '{line}'")
    if len(bones) < 2 or not hierarchy:
        raise MocapFormatError(f"{path.name}: no :bonedata or :hierarchy section (not an ASF file?)")
    for no, (parent, *children) in hierarchy:
        for child in children:
            if parent not in bones or child not in bones:
                _fail(path, no, f"hierarchy names an unknown bone ({parent} -> {child})")
            bones[child].parent = parent
    ordered = _parent_first(bones, path)
    if root_order[:3] != ["TX", "TY", "TZ"]:
        raise MocapFormatError(f"{path.name}: root order must start with TX TY TZ, got {root_order}")
    return Skeleton(ordered, root_order, unit)


def _bone_line(words, current, bones, path, no):
    key = words[0]
    if key == "begin":
        return Bone("", np.zeros(3), 0.0, np.zeros(3))
    if current is None:
        _fail(path, no, f"'{key}' outside a begin/end block")
    if key == "end":
        if not current.name:
            _fail(path, no, "bone without a name")
        bones[current.name] = current
        if len(bones) > MAX_JOINTS:
            _fail(path, no, f"more than {MAX_JOINTS} joints")
        return None
    if key == "name":
        current.name = words[1]
    elif key == "direction":
        current.direction = _three(words, path, no)
    elif key == "length":
        current.length = float(words[1])
        if not math.isfinite(current.length):
            _fail(path, no, f"bone length {words[1]} is not finite")
    elif key == "axis":
        current.axis = _three(words, path, no)
        if len(words) > 4 and words[4].upper() != "XYZ":
            _fail(path, no, f"axis order {words[4]} is not supported (XYZ is)")
    elif key == "dof":
        current.dof = [w.lower() for w in words[1:]]
    return current


def _three(words: list[str], path: Path, no: int) -> np.ndarray:
    """The three finite numbers after a keyword (``direction`` or ``axis``)."""
    if len(words) < 4:
        _fail(path, no, f"{words[0]} needs three numbers, got {len(words) - 1}")
    values = np.array([float(w) for w in words[1:4]])
    if not np.isfinite(values).all():
        _fail(path, no, f"{words[0]} has NaN or inf")
    return values


def _parent_first(bones: dict[str, Bone], path: Path) -> dict[str, Bone]:
    ordered, pending = {"root": bones["root"]}, [b for b in bones if b != "root"]
    while pending:
        ready = [b for b in pending if bones[b].parent in ordered]
        if not ready:
            raise MocapFormatError(f"{path.name}: bones {pending[:3]}… are not connected to the root")
        for b in ready:
            ordered[b] = bones[b]
            pending.remove(b)
    return ordered


def read_amc(path: Path, skeleton: Skeleton) -> list[dict[str, np.ndarray]]:
    """Parse AMC frames into {bone: dof values}. Raises MocapFormatError naming file and line."""
    path = Path(path)
    check_user_file(path)
    try:
        lines = path.read_text(errors="strict").splitlines()
    except (UnicodeDecodeError, OSError) as e:
        raise MocapFormatError(f"{path.name}: not a readable text file ({e})") from None
    frames: list[dict[str, np.ndarray]] = []
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(":"):
            continue
        words = line.split()
        if len(words) == 1 and words[0].isdigit():
            frames.append({})
            if len(frames) > MAX_FRAMES:
                _fail(path, no, f"more than {MAX_FRAMES} frames")
            continue
        if not frames:
            _fail(path, no, "bone values before the first frame number")
        name = words[0]
        if name not in skeleton.bones:
            _fail(path, no, f"bone '{name}' is not in the skeleton")
        expected = 6 if name == "root" else len(skeleton.bones[name].dof)
        try:
            values = np.array([float(w) for w in words[1:]])
        except ValueError:
            _fail(path, no, f"non-numeric value in '{line}'")
        if len(values) != expected:
            _fail(path, no, f"{name} has {len(values)} values, the skeleton says {expected}")
        if not np.isfinite(values).all():
            _fail(path, no, "NaN or inf value")
        frames[-1][name] = values
    if not frames:
        raise MocapFormatError(f"{path.name}: no frames (not an AMC file?)")
    return frames


def forward_kinematics(skeleton: Skeleton, frames: list[dict[str, np.ndarray]]) -> np.ndarray:
    """Joint positions (T, J, 3) in ASF units; joint 0 is the root, then bone end points."""
    names = skeleton.joints
    out = np.zeros((len(frames), len(names), 3))
    C = {n: skeleton.bones[n].C for n in names}
    with np.errstate(over="ignore", invalid="ignore"):  # huge skeletons overflow: callers check finiteness
        for t, frame in enumerate(frames):
            _pose(skeleton, names, C, frame, out[t])
    return out


def _pose(skeleton: Skeleton, names: list[str], C: dict, frame: dict[str, np.ndarray], out: np.ndarray) -> None:
    """One frame's joint positions into ``out`` (J, 3)."""
    glob, pos = {}, {}
    root = frame.get("root", np.zeros(6))
    angles = dict(zip(skeleton.root_order[3:], root[3:]))
    glob["root"] = C["root"] @ euler_xyz(angles.get("RX", 0.0), angles.get("RY", 0.0),
                                         angles.get("RZ", 0.0)) @ C["root"].T
    pos["root"] = root[:3]
    for n in names[1:]:
        bone = skeleton.bones[n]
        dof = dict(zip(bone.dof, frame.get(n, np.zeros(len(bone.dof)))))
        M = euler_xyz(dof.get("rx", 0.0), dof.get("ry", 0.0), dof.get("rz", 0.0))
        glob[n] = glob[bone.parent] @ C[n] @ M @ C[n].T
        pos[n] = pos[bone.parent] + bone.length * glob[n] @ bone.direction
    out[:] = np.stack([pos[n] for n in names])
