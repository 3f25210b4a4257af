import shutil
from pathlib import Path

import make_readme
import pytest


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A copy of the manifest, the fragments and their images, to edit freely (the
    edits may lengthen the user part: test_a_long_user_part_is_refused checks it)."""
    monkeypatch.setattr(make_readme, "USER_PART_LINES", 10_000)
    shutil.copy(make_readme.REPO / "__manifest__.py", tmp_path)
    shutil.copytree(make_readme.FRAGMENTS, tmp_path / "readme")
    description = Path("static", "description")
    shutil.copytree(make_readme.REPO / description, tmp_path / description)
    return tmp_path


def test_committed_readme_is_what_the_fragments_give():
    # index.html is checked by `make lint`, with the docutils version it pins.
    readme = make_readme.build()[make_readme.README]
    assert make_readme.README.read_text(encoding="utf-8") == readme, "stale"


def test_every_fragment_lands_in_its_oca_section(repo):
    (repo / "readme" / "HISTORY.rst").write_text("18.0.2.0.0\n~~~~~~~~~~\n\n- New.\n")
    readme = make_readme.build(repo)[make_readme.README]
    titles = ["Installation", "Configuration", "Shop relay", "Usage"]
    titles += ["Known issues / Roadmap", "Changelog", "Bug Tracker", "Credits"]
    positions = [readme.index(f"\n{title}\n{'=' * len(title)}\n") for title in titles]
    assert positions == sorted(positions)
    for sub in ("Authors", "Contributors", "Maintainers"):
        assert f"\n{sub}\n{'~' * len(sub)}\n" in readme
    assert "l10n_fr_pos_caisse_ap_ip contributors" in readme
    assert "/issues>`_" in readme


def test_an_edited_fragment_makes_the_readme_stale(repo):
    before = make_readme.build(repo)
    usage = repo / "readme" / "USAGE.rst"
    usage.write_text(usage.read_text() + "\nA new sentence for the cashier.\n")
    after = make_readme.build(repo)
    for path in (make_readme.README, make_readme.INDEX):
        assert before[path] != after[path]
        assert "A new sentence for the cashier." in after[path]


def test_apps_page_serves_images_from_the_addon(repo):
    html = make_readme.build(repo)[make_readme.INDEX]
    assert 'src="/l10n_fr_pos_caisse_ap_ip/static/description/screenshot_' in html
    assert "generator" not in html


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("NOTES.rst", "x", "not one of the README's fragments"),
        ("USAGE.md", "x", "not one of the README's fragments"),
        ("USAGE.rst", "A `link with no end.\n", "docutils rejects"),
    ],
)
def test_bad_fragments_are_refused_with_a_reason(repo, name, text, message):
    (repo / "readme" / name).write_text(text)
    with pytest.raises(make_readme.ReadmeError, match=message):
        make_readme.build(repo)


def test_website_must_name_the_github_repository(repo):
    manifest = repo / "__manifest__.py"
    manifest.write_text(
        manifest.read_text().replace('"https://github.com/', '"https://example.com/')
    )
    with pytest.raises(make_readme.ReadmeError, match="website"):
        make_readme.build(repo)


def test_check_mode_fails_on_a_stale_file_and_writes_nothing(tmp_path, monkeypatch):
    readme, index = tmp_path / "README.rst", tmp_path / "index.html"
    readme.write_text("edited by hand\n")
    monkeypatch.setattr(make_readme, "README", readme)
    monkeypatch.setattr(make_readme, "INDEX", index)
    monkeypatch.setattr(make_readme, "REPO", tmp_path)
    assert make_readme.main(["--check"]) == 1
    assert readme.read_text() == "edited by hand\n" and not index.exists()
    assert make_readme.main([]) == 0
    assert make_readme.main(["--check"]) == 0


def test_the_developer_page_stays_out_of_the_readme(repo):
    develop = repo / "readme" / "DEVELOP.rst"
    develop.write_text(develop.read_text() + "\nOnly for developers: a marker.\n")
    built = make_readme.build(repo)
    for path in (make_readme.README, make_readme.INDEX):
        assert "Only for developers: a marker." not in built[path]
    assert "\nDevelopment\n===" not in built[make_readme.README]


def test_an_image_that_does_not_exist_is_refused(repo):
    usage = repo / "readme" / "USAGE.rst"
    usage.write_text(
        usage.read_text()
        + "\n.. image:: static/description/screenshot_gone.png\n   :alt: gone\n"
    )
    with pytest.raises(make_readme.ReadmeError, match="screenshot_gone.png"):
        make_readme.build(repo)


def test_every_image_the_readme_shows_exists():
    readme = make_readme.README.read_text(encoding="utf-8")
    shown = make_readme.IMAGE.findall(readme)
    assert shown, "the README shows no screenshot"
    assert [name for name in shown if not (make_readme.REPO / name).is_file()] == []


def test_a_long_user_part_is_refused(repo, monkeypatch):
    monkeypatch.setattr(make_readme, "USER_PART_LINES", 300)
    usage = repo / "readme" / "USAGE.rst"
    padding = "".join(f"Line {n} for the cashier.\n\n" for n in range(200))
    usage.write_text(usage.read_text() + "\n" + padding)
    with pytest.raises(make_readme.ReadmeError, match="user part"):
        make_readme.build(repo)


def test_the_committed_user_part_keeps_room():
    """A new paragraph fits without cutting another one to make room."""
    readme = make_readme.README.read_text(encoding="utf-8")
    lines = readme.split("\nBug Tracker\n", 1)[0].count("\n")
    limit = make_readme.USER_PART_LINES - make_readme.USER_PART_ROOM
    assert lines <= limit, f"the user part is {lines} lines, more than {limit}"
