"""rollout/dashboard/assets.py and static/: what ships is what is served, and the page keeps to
its own Content-Security-Policy (no inline script, style or handler; no eval; no CDN)."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rollout.dashboard import assets

STATIC = Path(assets.__file__).parent / "static"
ROOT = Path(__file__).resolve().parents[3]


class Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles, handlers, foreign URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in ("src", "href", "action") and value and re.match(r"\w+:|//", value):
                self.problems.append(f"foreign {name}={value}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("inline script text")


FORBIDDEN_IN_SCRIPTS = (
    r"\.innerHTML",
    r"\.outerHTML",
    r"insertAdjacentHTML",
    r"\beval\(",
    r"new Function",
    r"setAttribute\(\s*[\"']style",
    r"https?://(?!www\.w3\.org)",  # no CDN; the SVG namespace is a name, not a fetch
)


def test_every_shipped_file_is_served_and_every_served_file_ships():
    shipped = {p.name for p in STATIC.iterdir() if p.is_file()}
    assert shipped == set(assets.STATIC_FILES) | set(assets.PAGES)
    loaded = assets.load_assets()
    assert set(loaded) == shipped and all(a.body for a in loaded.values())


def test_the_static_files_are_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "static/*" in project["tool"]["setuptools"]["package-data"]["rollout.dashboard"]


@pytest.mark.parametrize("page", assets.PAGES)
def test_pages_have_nothing_inline(page):
    parser = Inline()
    parser.feed((STATIC / page).read_text(encoding="utf-8"))
    assert parser.problems == []


@pytest.mark.parametrize("name", [n for n in assets.STATIC_FILES if n.endswith(".js")])
def test_scripts_build_no_html_from_strings_and_evaluate_nothing(name):
    source = (STATIC / name).read_text(encoding="utf-8")
    for pattern in FORBIDDEN_IN_SCRIPTS:
        assert not re.search(pattern, source), f"{name}: {pattern}"


def test_the_sign_in_message_is_escaped():
    page = assets.signin_page(assets.load_assets()["signin.html"], '<img src=x onerror="1">')
    assert b"&lt;img src=x onerror=&quot;1&quot;&gt;" in page and b"<img src=x" not in page
    assert assets.MESSAGE_SLOT.encode() not in page
