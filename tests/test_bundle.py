"""banyan/bundle.py: what a node unpacks, and what it refuses (nothing is written outside)."""

import os

import pytest
from archives import HOSTILE, build
from archives import bundle as make_bundle

from banyan import bundle
from banyan.errors import BadRequest


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_writes_nothing(tmp_path, kind):
    path = build(tmp_path / "b.tar.gz", HOSTILE[kind])
    dest = tmp_path / "deep" / "work"
    dest.mkdir(parents=True)
    with pytest.raises(BadRequest):
        bundle.extract(path, str(dest), "bundle", need_run_sh=True)
    assert os.listdir(dest) == []
    assert sorted(os.listdir(tmp_path)) == ["b.tar.gz", "deep"]
    assert not os.path.exists("/tmp/banyan-escape")


def test_good_bundle_unpacks_with_modes_and_gives_its_command(tmp_path):
    path = make_bundle(tmp_path / "b.tar.gz", more=[("./lib", None), ("./lib/x.txt", b"x")])
    dest = tmp_path / "work"
    dest.mkdir()
    summary = bundle.extract(path, str(dest), "bundle", need_run_sh=True)
    assert sorted(os.listdir(dest)) == ["lib", "run.sh"]
    assert os.access(dest / "run.sh", os.X_OK)
    assert (dest / "lib" / "x.txt").read_bytes() == b"x"
    assert bundle.command(summary, ["-foo"]) == {"exec": ["./run.sh", "-foo"]}
    plain = bundle.check(make_bundle(tmp_path / "p.tar.gz", executable=False), "bundle", True)
    assert bundle.command(plain, []) == {"exec": ["/bin/sh", "run.sh"]}


def test_not_an_archive_and_a_truncated_one_are_400(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BadRequest):
        bundle.check(str(junk), "bundle")
    good = make_bundle(tmp_path / "b.tar.gz", more=[("big", os.urandom(200000))])
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(open(good, "rb").read()[:5000])
    with pytest.raises(BadRequest):
        bundle.check(str(cut), "bundle")


def test_unpacked_size_cap_stops_a_gzip_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr("banyan.defaults.MAX_UNPACKED", 1 << 20)
    path = make_bundle(tmp_path / "bomb.tar.gz", more=[("zeros", bytes(2 << 20))])
    assert os.path.getsize(path) < 20000
    with pytest.raises(BadRequest, match="unpacks to more than"):
        bundle.check(path, "bundle")
