"""The README stays true: every setting is documented, and the set-up is exactly two commands."""

from pathlib import Path

from closerr.commands.config import settings_rows

README = Path("README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    missing = [var for var, _, _ in settings_rows() if f"`{var}`" not in README]
    assert not missing, f"run scripts/readme_settings.py to add: {missing}"


def test_setup_is_make_demo_and_make_test():
    setup = README.split("## Set-up on a fresh machine", 1)[1].split("##", 1)[0]
    commands = [line.strip().split("#")[0].strip() for line in setup.splitlines() if line.startswith("    ")]
    assert commands == ["make demo", "make test"]


def test_docs_named_in_the_readme_exist():
    for name in ("docs/architecture.md", "docs/api.md", "docs/privacy-controls.md", "docs/retention.md"):
        assert name in README and Path(name).exists(), name
