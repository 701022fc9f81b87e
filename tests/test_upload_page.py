"""The Upload page end to end through streamlit.testing (each upload runs in the real worker)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from egno.run.checkpoint import shipped_models
from egno.service.examples import example_path

pytestmark = [pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped checkpoints"), pytest.mark.slow]
MAIN = str(ROOT / "app" / "main.py")
EXAMPLES = ROOT / "assets" / "samples" / "examples"


def upload_page(dataset: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["dataset"] = dataset
    at.run()
    at.switch_page("views/upload.py").run()
    assert not at.exception, at.exception
    return at


def drop(at: AppTest, *names: str) -> None:
    uploader = at.get("file_uploader")[0]
    for name in names:
        uploader.upload(name, (EXAMPLES / name).read_bytes(), "application/octet-stream")
    at.run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]  # the page's own message when the upload failed


def test_particles_scored_by_every_model_kept_across_pages_replaced_by_a_new_drop():
    at = upload_page("nbody")
    drop(at, "particles.csv")
    assert "particles.csv" in at.success[0].value and "0.1" in at.success[0].value
    scored = next(c.value for c in at.caption if c.value.startswith("Every shipped"))
    assert all(m in scored for m in shipped_models("nbody")) and "no motion" in scored
    before = at.success[0].value
    at.slider(key=next(s.key for s in at.slider)).set_value(2).run()  # start frame changes the prediction
    assert "input frame 2" in at.success[0].value and at.success[0].value != before
    at.switch_page("views/explore.py").run()
    at.switch_page("views/upload.py").run()
    assert "particles.csv" in at.success[0].value  # kept across the page switch
    at.get("file_uploader")[0].upload("other.csv", (ROOT / "assets/samples/nbody/test_1.csv").read_bytes(),
                                      "text/csv").run()
    assert "**other.csv**" in next(c.value for c in at.caption if c.value.startswith("Current upload"))


def test_xyz_without_times_asks_for_the_interval_and_warns():
    at = upload_page("md17/aspirin")
    at.button(key="example_1").click().run()
    dt = next(n for n in at.number_input if n.label.startswith("time between frames"))
    assert dt.value == 0.5
    assert any("time between frames is probably wrong" in w.value for w in at.warning)
    # 75 times too fast: the prediction is not finite or runs away, so no success box, drawing,
    # uncertainty or download of it, and the error names the likely cause and the fix
    assert not at.success
    failed = [e.value for e in at.error if "nothing is drawn" in e.value]
    assert failed and ("not finite" in failed[0] or "moves a node by" in failed[0]) and "Set the interval" in failed[0]
    assert not any("expects an RMSE" in i.value for i in at.info)
    assert not any("prediction" in b.label for b in at.get("download_button"))
    dt.set_value(37.5).run()
    assert not any("probably wrong" in w.value for w in at.warning)
    assert "37.5 fs apart (you)" in at.success[0].value


def test_ethanol_on_the_aspirin_page_goes_to_the_ethanol_model():
    at = upload_page("md17/aspirin")
    at.button(key="example_4").click().run()
    assert "md17/ethanol/egno" in at.success[0].value
    assert any("is ethanol" in i.value for i in at.info)


def test_one_frame_pdb_predicts_from_rest_and_says_so():
    at = upload_page("protein/adk")
    at.button(key="example_0").click().run()
    assert any("starts from rest" in i.value for i in at.info)
    assert "velocities: zero" in at.success[0].value
    # the server-rendered animations are offered with no truth to draw (egno/service/render.py)
    assert [b.label for b in at.get("download_button")][-2:] == ["animation (GIF)", "animation (MP4)"]


def mmff_xyz(dt_fs: float = 5.0, frames: int = 800, smiles: str = "Cn1cnc2c1c(=O)n(C)c(=O)n2C") -> bytes:
    """Caffeine (none of the eight molecules; or ``smiles``) on MMFF94 at about 500 K: all atoms,
    a ``time=`` per frame ``dt_fs`` apart, so the window's targets (187.5 fs apart) fall between
    frames."""
    import io

    import ase
    import ase.io
    import numpy as np
    from ase import units
    from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta
    from ase.md.verlet import VelocityVerlet

    from egno.data.md17_sim import MMFFCalculator, build_molecule

    mol = build_molecule(smiles, 3)
    atoms = ase.Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())
    atoms.calc = MMFFCalculator(mol)
    thermalize_momenta(atoms, temperature_K=500, rng=np.random.default_rng(0))
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn, images = VelocityVerlet(atoms, 0.5 * units.fs), []
    for k in range(frames):
        if k:
            dyn.run(int(round(dt_fs / 0.5)))
        image = atoms.copy()
        image.info["time"] = k * dt_fs
        images.append(image)
    buf = io.StringIO()
    ase.io.write(buf, images, format="extxyz")
    return buf.getvalue().encode()


def test_a_molecule_whose_targets_fall_between_its_frames_is_scored_without_a_speed_warning():
    """Frames 5 fs apart, targets 187.5 fs apart: the truth is interpolated (said on the page); the
    hydrogens move fast, but the models read heavy atoms, and those move at a plausible speed."""
    at = upload_page("md17/aspirin")
    toluene = mmff_xyz(smiles="Cc1ccccc1")  # goes to its own model from any molecule page
    at.get("file_uploader")[0].upload("toluene.xyz", toluene, "chemical/x-xyz").run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]
    assert "md17/toluene" in at.success[0].value and "5 fs apart (the file)" in at.success[0].value
    assert not any("probably wrong" in w.value for w in at.warning), [w.value for w in at.warning]
    assert any("interpolated linearly" in c.value for c in at.caption)
    assert "against the file's frames" in at.metric[0].proto.help
    assert "the file's velocities" in at.success[0].value  # ASE wrote the momenta: they are read
    # a P whose times fall on the file's frames: scored against them, nothing interpolated
    pick = next(s for s in at.selectbox if s.key.startswith("p_"))
    labels = {int(o.split(":")[0].split()[2]): o for o in pick.options}
    assert pick.value == 8 and "(trained)" in labels[8] and "between the file's frames" in labels[8]
    assert labels[10] == "P = 10: every 150 fs, on the file's frames"
    before = at.metric[0].value
    pick.set_value(10).run()
    assert not at.exception, at.exception
    assert "predicted P = 10 frames" in at.success[0].value
    assert not any("interpolated linearly" in c.value for c in at.caption)
    assert at.metric[0].value != before and float(at.metric[0].value) > 0


def test_a_skeleton_and_a_motion_of_different_subjects_are_flagged():
    at = upload_page("mocap/walk")
    uploader = at.get("file_uploader")[0]
    uploader.upload("02.asf", example_path("35.asf").read_bytes(), "application/octet-stream")
    uploader.upload("35_01_first40.amc", example_path("35_01_first40.amc").read_bytes(), "application/octet-stream")
    at.run()
    assert at.success, [e.value for e in at.error]
    assert any("different CMU subjects" in w.value for w in at.warning)
    assert any(n.label == "frames per second" and n.value == 120 for n in at.number_input)
