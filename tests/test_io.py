import pytest

from gruforecast._io import atomic_path


def test_success_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_a_failed_write_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_save_figure_writes_the_format_of_its_suffix(tmp_path):
    from matplotlib.figure import Figure

    from gruforecast.plotting import save_figure

    figure = Figure()
    figure.subplots().plot([1, 2, 3])
    assert save_figure(figure, tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert save_figure(figure, tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")


def test_new_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "new.txt") as temporary:
            temporary.write_text("x")
        assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.txt").write_text("old")
        os.chmod(tmp_path / "kept.txt", 0o600)
        with atomic_path(tmp_path / "kept.txt") as temporary:
            temporary.write_text("new")
        assert (tmp_path / "kept.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_temporary_files_of_a_killed_writer_are_removed_on_the_next_write(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "model.gruf"
    # a writer killed mid-write (SIGKILL: no cleanup ran) leaves its temporary file
    code = (
        "import os, signal, sys\n"
        "from gruforecast._io import atomic_path\n"
        "with atomic_path(sys.argv[1]) as temporary:\n"
        "    temporary.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    orphans = list(tmp_path.glob(".model.gruf.*.tmp"))
    assert len(orphans) == 1 and not target.exists()
    alive = tmp_path / f".model.gruf.{1}.{'0' * 16}.tmp"  # pid 1 runs: perhaps writing
    alive.write_text("in progress")
    other = tmp_path / ".other.gruf.99999999.0000.tmp"  # another file's: not ours to judge
    other.write_text("x")
    with atomic_path(target) as temporary:
        temporary.write_text("whole")
    assert target.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.gruf", alive.name, other.name]
    )


def test_a_device_is_written_to_not_replaced(tmp_path):
    import os
    import stat

    with atomic_path(os.devnull) as target:
        target.write_text("discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # still the device, not a file
    with pytest.raises(IsADirectoryError, match="is a folder"):
        with atomic_path(tmp_path) as target:
            pass
