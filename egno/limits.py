"""How much a user's file may make the readers and the upload worker build: every limit in one place.

The readers check these from a file's headers or a cheap pre-scan before a heavy parser (ASE,
MDAnalysis, numpy) allocates anything, so ``python -m egno evaluate --data`` is protected as well
as the app's Upload page, which states them (``describe``) and runs each upload in a worker
process capped at WORKER_MEMORY_BYTES and WORKER_SECONDS.
"""
from __future__ import annotations

MiB = 2**20

# ---------------------------------------------------------------- bytes
MAX_TEXT_BYTES = 20 * MiB         # a text file (CSV, XYZ, ASF, AMC, BVH, PDB, PSF, GRO): the app's upload cap
MAX_BINARY_BYTES = 200 * MiB      # a binary trajectory (DCD, XTC, TRR) read from disk by evaluate --data
MAX_UNPACKED_BYTES = 200 * MiB    # npz arrays as the zip directory says they unpack (a zip bomb is refused unread)
MAX_ARRAY_VALUES = 25_000_000     # numbers in one npz array: 200 MB once converted to float64

# ---------------------------------------------------------------- graphs
MAX_EDGES = 200_000               # directed edges of one graph (AdK: 56,002); md17 predicts 250,000 in ~13 s

# ---------------------------------------------------------------- per family
NBODY_MAX_PARTICLES = 100         # fully connected: 100 particles are 9,900 edges
NBODY_MAX_FRAMES = 10_000         # the model reads frame 0; ground truth needs 11
MOLECULE_MAX_ATOMS = 500          # all atoms, hydrogens included; the MD17 molecules have 9-21
MOLECULE_MAX_FRAMES = 200_000     # the MD17 files have up to 211,762 frames
MOTION_MAX_FRAMES = 100_000       # 833 s at 120 frames/s
MOTION_MAX_JOINTS = 200           # the CMU skeletons have 31; the 2-hop graph is a dense J × J product
MOTION_MAX_CHANNELS = 6           # per BVH joint: 3 positions + 3 rotations
MOTION_MIN_FPS = 1.0              # BVH frame time ≤ 1 s: sparser motion cannot be resampled to 120 frames/s
PROTEIN_MAX_BACKBONE = 5_000      # backbone atoms (N, CA, C, O): AdK has 855
PROTEIN_MAX_ATOMS = 500_000       # atoms a topology or trajectory header may declare (MDAnalysis allocates them)
PROTEIN_MAX_FRAMES = 20_000       # frames of a trajectory

# ---------------------------------------------------------------- the upload worker
WORKER_MEMORY_BYTES = 2048 * MiB  # address space (RLIMIT_AS) of the worker; its libraries take ~1 GB of it
WORKER_SECONDS = 30.0             # wall-clock time to read, predict and export one upload
WORKER_SLOTS = 2                  # uploads worked on at once (2 cores); others wait for a slot
WORKER_WAIT_SECONDS = 60.0        # how long an upload waits for a slot before the user is asked to retry

# compressed streams by their first bytes: MDAnalysis and others would unpack them whatever the
# file is called, so a small file could become gigabytes
COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip",
                    b"\x28\xb5\x2f\xfd": "zstd", b"7z\xbc\xaf\x27\x1c": "7z"}


def describe() -> list[str]:
    """The limits as short sentences for the Upload page."""
    return [
        f"Files up to {MAX_TEXT_BYTES // MiB} MB; compressed files (gzip, bzip2, xz, zip) only as npz.",
        f"npz arrays up to {MAX_UNPACKED_BYTES // MiB} MB unpacked and {MAX_ARRAY_VALUES:,} numbers each.",
        f"Particles: at most {NBODY_MAX_PARTICLES} particles and {NBODY_MAX_FRAMES:,} frames. "
        f"Molecules: {MOLECULE_MAX_ATOMS} atoms, {MOLECULE_MAX_FRAMES:,} frames. "
        f"Motion: {MOTION_MAX_JOINTS} joints of at most {MOTION_MAX_CHANNELS} channels, "
        f"{MOTION_MAX_FRAMES:,} frames, a frame time of at most {1 / MOTION_MIN_FPS:g} s. "
        f"Proteins: {PROTEIN_MAX_BACKBONE:,} backbone atoms ({PROTEIN_MAX_ATOMS:,} in all), "
        f"{PROTEIN_MAX_FRAMES:,} frames.",
        f"A graph may have {MAX_EDGES:,} edges (atoms piled up closer than the cutoff make too many).",
        f"Each upload is read and predicted in a separate process with {WORKER_MEMORY_BYTES // MiB:,} MB "
        f"of memory and {WORKER_SECONDS:g} s; past either it is stopped.",
    ]
