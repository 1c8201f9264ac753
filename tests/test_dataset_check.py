"""A deleted or replaced sound of a synthesized dataset stops the run, naming it and the way out."""

import os

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, TEST_CONFIG, snakemake

pytestmark = pytest.mark.workflow

REGENERATE = "regenerate the dataset: snakemake --cores 8 --forcerun results/datasets/tiny/params.csv"
TARGET = "results/embeddings/tiny/base.npy"


def run(workdir, *args):
    # Targets go before the options: --forcerun takes every word after it.
    return snakemake("--configfile", str(TEST_CONFIG), "--directory", str(workdir), *args)


def own_options(workdir):
    """The run's own workflow options, which the start-up check's advice repeats."""
    return f"--snakefile {ROOT / 'Snakefile'} --configfile {TEST_CONFIG} --directory {workdir}"


def lines(result):
    return (result.stdout + result.stderr).splitlines()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dataset_check")
    result = run(workdir, "--cores", "2", TARGET)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = pd.read_csv(workdir / "results/datasets/tiny/params.csv", dtype={"sound_id": str})["sound_id"]
    return workdir, list(ids)


def test_deleted_sound_stops_the_run_until_regenerated(dataset):
    workdir, ids = dataset
    name = f"results/datasets/tiny/audio/{ids[1]}.wav"
    original = (workdir / name).read_bytes()
    (workdir / name).unlink()
    result = run(workdir, "--cores", "2", "-n")
    assert result.returncode != 0
    assert f"{name}: missing (deleted after synthesis); {REGENERATE} {own_options(workdir)}" in lines(result)
    # The way out, exactly as the message says.
    result = run(workdir, TARGET, "--cores", "8", "--forcerun", "results/datasets/tiny/params.csv")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (workdir / name).read_bytes() == original
    assert run(workdir, "--cores", "2", "-n", TARGET).returncode == 0


def test_replaced_sound_stops_the_run_until_regenerated(dataset):
    workdir, ids = dataset
    name = f"results/datasets/tiny/audio/{ids[2]}.wav"
    (workdir / name).write_bytes((workdir / f"results/datasets/tiny/audio/{ids[3]}.wav").read_bytes())
    result = run(workdir, "--cores", "2", "-n")
    assert result.returncode != 0
    expected = f"{name}: modified after synthesis (newer than manifest.tsv); {REGENERATE} {own_options(workdir)}"
    assert expected in lines(result)
    # Forcing the rule regenerates every dataset.
    result = run(workdir, TARGET, "--cores", "2", "--forcerun", "synthesize")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert run(workdir, "--cores", "2", "-n", TARGET).returncode == 0


def test_sound_altered_in_place_fails_every_job_that_reads_it(dataset):
    # Same size and time (as `cp -p` leaves them): only the checksums see it.
    workdir, ids = dataset
    name = f"results/datasets/tiny/audio/{ids[4]}.wav"
    path = workdir / name
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[-4:] = np.float32(0.25).tobytes()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    expected = (
        f"GEAR: embed (dataset=tiny, model=base): {name}: altered after synthesis (its size or SHA-256 "
        f"differs from manifest.tsv); {REGENERATE}"
    )
    forced = run(workdir, TARGET, "--cores", "2", "--forcerun", "embed")
    assert forced.returncode != 0 and expected in lines(forced)
    assert not (workdir / TARGET).exists()
    # The next plain run does not report "nothing to be done".
    again = run(workdir, "--cores", "2", TARGET)
    assert again.returncode != 0 and expected in lines(again)
