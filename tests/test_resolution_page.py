"""The Resolution page's sweep settings in the URL: a link opens the page on them, a bad link's values
are left out with a note, and the settings come back after a page switch."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from egno.run.checkpoint import shipped_models

pytestmark = pytest.mark.skipif(not shipped_models("nbody"), reason="no shipped nbody checkpoints")
MAIN = str(ROOT / "app" / "main.py")


@pytest.fixture(scope="module", autouse=True)
def app_data(tmp_path_factory):
    """The app generates the seeded test split on first use: do it once into a temp data dir."""
    from egno import get_dataset

    root = tmp_path_factory.mktemp("app_data")
    get_dataset("nbody", root / "nbody").generate(progress=False, splits=("test",))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGNO_DATA", str(root))
        yield root


def open_link(**params) -> AppTest:
    """The Resolution page opened from a link with these query parameters."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("views/resolution.py").run()
    assert not at.exception, at.exception
    return at


def settings(at: AppTest) -> tuple:
    return (at.multiselect(key="sweep_p_nbody").value, at.multiselect(key="sweep_models_nbody").value,
            at.selectbox(key="sweep_n_nbody").value, at.number_input(key="res_sample").value)


def url(at: AppTest, key: str) -> list[str]:
    """A query parameter's values (AppTest gives one value as a string, several as a list)."""
    value = at.query_params[key]
    return [value] if isinstance(value, str) else list(value)


def link_note(at: AppTest) -> str | None:
    return next((c.value for c in at.caption if c.value.startswith("The link's")), None)


def test_a_link_sets_the_sweep_and_the_settings_stay_in_the_url_across_pages():
    at = open_link(P=["20", "2"], models=["linear", "egno"], n_samples="20", sample="7")
    assert settings(at) == ([2, 20], ["linear", "egno"], 20, 7) and link_note(at) is None
    assert "run sweep" in at.info[0].value  # not the shipped default: it waits for the button
    at.multiselect(key="sweep_p_nbody").select(5).run()
    assert url(at, "P") == ["2", "5", "20"]
    at.switch_page("views/explore.py").run()
    assert at.number_input(key="sample").value == 7  # the sample carries to Explore
    at.switch_page("views/resolution.py").run()
    assert settings(at) == ([2, 5, 20], ["linear", "egno"], 20, 7)
    assert url(at, "models") == ["linear", "egno"] and url(at, "n_samples") == ["20"]


def test_a_list_may_be_comma_separated_and_a_number_of_samples_becomes_the_nearest_choice():
    at = open_link(P="2,50", n_samples="190")
    assert settings(at)[:3] == ([2, 50], ["egno", "linear", "egnn-r"], 200)
    assert "`n_samples`" in link_note(at) and "`P`" not in link_note(at)


def test_a_bad_link_keeps_what_is_valid_and_says_so_without_echoing_it():
    hostile = "<script>alert(1)</script>"
    at = open_link(P=["3", hostile, "5"], models=hostile, n_samples="lots", sample="-4")
    assert settings(at) == ([5], ["egno", "linear", "egnn-r"], 200, 0)
    note = link_note(at)
    assert all(f"`{k}`" in note for k in ("P", "models", "n_samples"))
    assert not any("alert" in c.value or "lots" in c.value for c in at.caption)
    at.multiselect(key="sweep_p_nbody").select(10).run()  # the note was for the arrival only
    assert not at.exception and link_note(at) is None
