"""Property tests of the zip member check: whatever it accepts stays inside its folder."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from deepclsmote.datasets._archive import NESTED_SUFFIXES, check_member
from deepclsmote.datasets.base import DatasetFormatError

SEGMENTS = st.one_of(
    st.sampled_from(["..", ".", "", "C:", "c:", "~", "class", "img.png", "x.zip", "a.NPZ",
                     "b.tar.gz", "é", "数字", "\u202e", "..\\..", "a\\b", " ", "...", "a..b"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            min_size=1, max_size=8),
)
NAMES = st.builds(lambda lead, parts: lead + "/".join(parts),
                  st.sampled_from(["", "/", "\\", "C:/", "d:\\", "./"]),
                  st.lists(SEGMENTS, min_size=1, max_size=5))


def _member(name: str, link: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = info.compress_size = 100
    if link:
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@settings(max_examples=400, deadline=None)
@given(NAMES, st.booleans())
def test_an_accepted_member_stays_inside_its_folder(name, link):
    info = _member(name, link)
    try:
        check_member(info, "upload.zip", max_ratio=200.0)
    except DatasetFormatError as exc:
        assert repr(name) in str(exc) or name in str(exc)  # the message names the member
        return
    assert not link
    root = Path("/srv/upload").resolve()
    target = Path(os.path.normpath(root / name))
    assert target == root or root in target.parents, name
    assert "\\" not in name and not name.startswith("/")
    if not info.is_dir():
        assert PurePosixPath(name).suffix.lower() not in NESTED_SUFFIXES
