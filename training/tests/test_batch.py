"""python -m sightline_ldm.batch (issue 16) on the demo model and 4 demo MIMIC JPEGs x 2 phrases x 3 variants (frozen,
tuned, and the tuned-loc variant file's token rows), shards of 2 images (tests/_batch_job.py builds the job as the
app exports one): the maps equal reference_heatmap, 2 gloo processes under torch.distributed.run equal 1, a rank
killed mid-shard resumes without duplicates, a corrupted sealed map is caught by content, a wrong bundle, a missing
or changed image and a bad job.json are refused clearly, and --shard K grounds only shard K. ~2 min on 2 cores."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import _batch_job as B
from _require import needs, require_module

pytestmark = needs(B.DEMO / "manifest.json", B.DEMO / "reference", B.DATA_ROOT / "mimic-cxr-jpg",
                   what="the demo bundle and the demo images")
APP_JOB = B.REPO / "test" / "vectors" / "batch-demo-job.json"
PARITY = B.REPO / "test" / "vectors" / "grounding-demo"
TOL = 1e-6


def sealed_maps(results):
    """{(image, variant, phrase): (map, threshold)} of every sealed shard, and the sealed files (relative paths)."""
    maps, files = {}, set()
    shards = Path(results, "shards")
    for d in sorted(p for p in shards.iterdir() if p.is_dir() and ".bad-" not in p.name):
        doc = json.loads((d / "shard.json").read_text())
        keys = [(m["image"], m["variant"], m["phrase"]) for m in doc["maps"]]
        assert len(keys) == len(set(keys)), f"{d}: duplicate rows"
        for m in doc["maps"]:
            key = (m["image"], m["variant"], m["phrase"])
            assert key not in maps, f"{key} sealed twice"
            maps[key] = (np.load(d / m["file"]), m["threshold"])
        files |= {str(p.relative_to(shards)) for p in d.rglob("*") if p.is_file()}
    return maps, files


def assert_same(a, b):
    assert a.keys() == b.keys()
    assert max(float(np.abs(a[k][0] - b[k][0]).max()) for k in a) <= TOL
    assert all(a[k][1] == b[k][1] for k in a)


@pytest.fixture(scope="module")
def job_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch") / "job"
    B.make_job(d)
    return d


@pytest.fixture(scope="module")
def single(job_dir):
    """One process over the whole job into JOB_DIR/results (the default)."""
    r = B.run_batch(job_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    return job_dir / "results", B.json_lines(r.stdout)


def test_single_process_equals_reference_heatmap(job_dir, single, tmp_path):
    results, lines = single
    assert [l["shard"] for l in lines if l["event"] == "shard"] == [0, 1]
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["images"] == 4 and summary["unsealed"] == []
    assert summary["images_per_minute"] > 0
    maps, files = sealed_maps(results)
    assert len(maps) == 4 * 2 * 3
    doc = json.loads((results / "shards" / "shard-00001" / "shard.json").read_text())
    assert doc["size"] == 128 and doc["shard"] == 1 and doc["provenance"]["world_size"] == 1
    assert (results / "shards" / "shard-00001" / "tuned-loc" / "index.csv").read_text().splitlines()[0] == \
        "dicom_id,label_text,file"
    assert not any(f.endswith(".json") and not f.endswith("shard.json") for f in files)  # records dropped on sealing

    plan = [json.loads(l) for l in (results / "progress" / "all-rank0.jsonl").read_text().splitlines()
            if '"plan"' in l][0]
    assert plan["images"] >= 4 and plan["pairs"] >= 8  # all 4 images inverted together, 8 pairs per attention call
    ref = B.reference_maps(job_dir, tmp_path / "reference.json")
    assert ref.keys() == maps.keys()
    for key, (got, thr) in maps.items():
        assert got.dtype == np.float32 and got.shape == (128, 128) and got.flags.c_contiguous
        assert thr == ref[key][1], key
    assert max(float(np.abs(got - ref[k][0]).max()) for k, (got, _) in maps.items()) <= TOL
    assert any(t is not None for _, t in maps.values()) and any(t is None for _, t in maps.values())

    st = B.run_batch(job_dir, "--status", "--json")
    assert st.returncode == 0, st.stderr
    doc = json.loads(st.stdout)
    assert [s["state"] for s in doc["shards"]] == ["sealed", "sealed"] and doc["maps"] == 24
    assert doc["ranks"][0]["finished"] and doc["ranks"][0]["done"] == 4


def test_two_gloo_processes_equal_one(job_dir, single, tmp_path):
    out = tmp_path / "two"
    r = B.run_batch(job_dir, "--out", str(out), torchrun=2)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = B.json_lines(r.stdout)[-1]
    assert summary["world_size"] == 2 and summary["images"] == 4
    one, one_files = sealed_maps(single[0])
    two, two_files = sealed_maps(out)
    assert_same(one, two)
    assert one_files == two_files
    starts = [json.loads(l) for f in sorted((out / "progress").iterdir()) for l in f.read_text().splitlines()
              if '"start"' in l]
    assert sorted((s["rank"], s["world"], s["assigned"]) for s in starts) == [(0, 2, 2), (1, 2, 2)]


def test_killed_rank_resumes_without_duplicates(job_dir, single, tmp_path):
    out = tmp_path / "killed"
    r = B.run_batch(job_dir, "--out", str(out), torchrun=2,
                    env={"SIGHTLINE_BATCH_DIE_AFTER": "1", "SIGHTLINE_BATCH_DIE_RANK": "1"})
    assert r.returncode != 0
    st = json.loads(B.run_batch(job_dir, "--out", str(out), "--status", "--json").stdout)
    assert all(s["state"] in ("partial", "pending") for s in st["shards"])
    assert sum(s["done"] for s in st["shards"]) >= 1
    rank1 = [x for x in st["ranks"] if x["rank"] == 1][0]
    assert rank1["done"] == 1 and not rank1["finished"]

    r = B.run_batch(job_dir, "--out", str(out), torchrun=2)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = (out / "progress" / "all-rank1.jsonl").read_text().splitlines()
    last_start = [json.loads(l) for l in lines if '"start"' in l][-1]
    assert last_start["assigned"] == 2 and last_start["images"] == 1  # the image done before the kill is kept
    want, want_files = sealed_maps(single[0])
    resumed, files = sealed_maps(out)
    assert_same(want, resumed)
    assert files == want_files and len(resumed) == 24


def test_corrupted_sealed_map_is_detected_and_the_shard_redone(job_dir, single, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(single[0], out)
    bad = out / "shards" / "shard-00001" / "frozen" / "2-0.npy"
    data = bytearray(bad.read_bytes())
    data[-4:] = b"\x00\x00\x80\x3f"  # a plausible float (1.0): only the content check can tell
    bad.write_bytes(bytes(data))
    r = B.run_batch(job_dir, "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "shard 1 failed its content check" in r.stderr and "2-0.npy" in r.stderr
    assert len(list((out / "shards").glob("shard-00001.bad-*"))) == 1
    start = [json.loads(l) for l in (out / "progress" / "all-rank0.jsonl").read_text().splitlines()
             if '"start"' in l][-1]
    assert start["images"] == 2  # shard 0 passed its check: only shard 1's images are redone
    assert [l["shard"] for l in B.json_lines(r.stdout) if l["event"] == "shard"] == [1]
    assert_same(sealed_maps(single[0])[0], sealed_maps(out)[0])


def test_wrong_bundle_hash_is_refused(job_dir, tmp_path):
    job = json.loads((job_dir / "job.json").read_text())
    job["bundle"]["hash"] = "ab" * 32
    (tmp_path / "job.json").write_text(json.dumps(job))
    r = B.run_batch(tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "ab" * 32 in r.stderr and "has sha256" in r.stderr
    assert r.stderr.startswith("python -m sightline_ldm.batch: ") and str(tmp_path / "job.json") in r.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture
def damaged_job(job_dir, tmp_path):
    """The job with image 0's file missing and image 1's sha256 not its file's (shard 0); shard 1 intact."""
    job = json.loads((job_dir / "job.json").read_text())
    job["images"][0]["path"] = "mimic-cxr-jpg/files/gone.jpg"
    job["images"][1]["sha256"] = "0" * 64
    (tmp_path / "job.json").write_text(json.dumps(job))
    return tmp_path


def test_missing_and_changed_images_are_reported_and_the_shard_not_sealed(damaged_job):
    r = B.run_batch(damaged_job, "--shard", "0")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "gone.jpg: missing" in r.stderr and "is not the job's 000000000000" in r.stderr
    assert "shard 0: 0 of 2 images done; not sealed" in r.stderr
    events = [json.loads(l) for l in (damaged_job / "results" / "progress" / "shard-0-rank0.jsonl").read_text()
              .splitlines()]
    assert sorted(e["index"] for e in events if e["event"] == "skip") == [0, 1]
    assert not (damaged_job / "results" / "shards" / "shard-00000").exists()


def test_shard_k_grounds_only_shard_k(damaged_job, single):
    r = B.run_batch(damaged_job, "--shard", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    lines = B.json_lines(r.stdout)
    assert [l["shard"] for l in lines if l["event"] == "shard"] == [1] and lines[-1]["images"] == 2
    res = damaged_job / "results"
    assert sorted(p.name for p in (res / "shards").iterdir()) == ["shard-00001"]
    assert sorted(p.name for p in (res / "progress").iterdir()) == ["shard-1-rank0.jsonl"]
    mine, _ = sealed_maps(res)
    ref = {k: v for k, v in sealed_maps(single[0])[0].items() if k[0] in (2, 3)}
    assert_same(ref, mine)


@pytest.mark.parametrize("edit, problem", [
    (lambda j: j.update(format="other"), "format: expected 'sightline-batch-job'"),
    (lambda j: j.update(version=2), "version: version 2 is not supported"),
    (lambda j: j["variants"][0]["settings"].pop("stepIndices"), "variants[0].settings.stepIndices: expected"),
    (lambda j: j["images"][2].update(phrases=[]), "images[2].phrases: not a non-empty list"),
    (lambda j: j.update(shards=[[0, 1, 2], [3]]), "shards: not the contiguous blocks of shard_size 2"),
    (lambda j: j["images"][0].update(path="/abs/x.jpg"), "images[0].path: '/abs/x.jpg' is not a POSIX path"),
])
def test_bad_job_json_is_refused_naming_the_field(job_dir, tmp_path, edit, problem):
    job = json.loads((job_dir / "job.json").read_text())
    edit(job)
    (tmp_path / "job.json").write_text(json.dumps(job))
    r = B.run_batch(tmp_path / "job.json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"python -m sightline_ldm.batch: {tmp_path / 'job.json'}: ") and problem in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_json_syntax_error_names_line_and_column(tmp_path):
    from sightline_ldm.batch_job import JobError, load_job
    (tmp_path / "job.json").write_text('{"format": "sightline-batch-job",\n "version": 1,,\n}')
    with pytest.raises(JobError, match=r"job\.json: line 2 column 15: "):
        load_job(str(tmp_path))
    with pytest.raises(JobError, match="no such job file"):
        load_job(str(tmp_path / "nothing"))


def test_out_of_memory_halves_the_pairs_then_the_images():
    from sightline_ldm.batch_engine import ground_backoff

    class Fake:  # fits 1 image and 2 pairs per call
        pairs_per_call = 8
        calls = []

        def ground(self, images, phrases):
            self.calls.append((len(images), self.pairs_per_call))
            if self.pairs_per_call > 2 or len(images) > 1:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return [{("v", 0): (im, None)} for im in images]

    f, steps = Fake(), []
    out = ground_backoff(f, ["a", "b", "c"], [["p"]] * 3, lambda b, p: steps.append((b, p)))
    assert [r[("v", 0)][0] for r in out] == ["a", "b", "c"]
    # [a b c] x 8 -> [a] x 4 -> [a] x 2 fits; [b c] x 2 -> [b] x 1, [c] x 1 fit
    assert steps == [(1, 4), (1, 2), (1, 1)]
    assert f.calls == [(3, 8), (1, 4), (1, 2), (2, 2), (1, 1), (1, 1)]

    class Broken:
        pairs_per_call = 4

        def ground(self, images, phrases):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):  # not a memory problem: no retry
        ground_backoff(Broken(), ["a"], [["p"]])


def test_assignment_is_round_robin_over_the_selection():
    from sightline_ldm.batch_job import assigned
    sel = list(range(10, 17))
    assert assigned(sel, 0, 3) == [10, 13, 16] and assigned(sel, 2, 3) == [12, 15]
    assert sorted(sum((assigned(sel, r, 3) for r in range(3)), [])) == sel


@needs(APP_JOB, what="the app's exported demo job (sightline batch export; test/vectors/README.md)")
def test_app_exported_job_validates_and_its_first_image_grounds(tmp_path):
    from sightline_ldm.batch_engine import BatchGrounder
    from sightline_ldm.batch_job import check_bundle, load_job
    from sightline_ldm.grounding import read_image_file
    from sightline_ldm.loading import load_grounding_model
    shutil.copy(APP_JOB, tmp_path / "job.json")
    job = load_job(str(tmp_path))
    check_bundle(job, str(B.DEMO))
    im = job.images[0]
    roots = [Path(job.raw.get("data_root", "")), B.DATA_ROOT, B.REPO, B.REPO / "resources"]
    path = next((r / im.path for r in roots if (r / im.path).is_file()), None)
    assert path is not None, f"{im.path}: not under {roots}"
    model, _ = load_grounding_model(str(B.DEMO))
    res = BatchGrounder(model, job.variants).ground([read_image_file(str(path))], [im.phrases])[0]
    assert len(res) == len(im.phrases) * len(job.variants)
    for heat, _ in res.values():
        assert heat.shape == (model.image_size,) * 2 and 0.0 <= heat.min() and heat.max() <= 1.0


@needs(PARITY / "index.json", PARITY / "maps.f32", what="the grounding parity vectors (test/vectors/grounding-demo)")
def test_maps_equal_the_parity_vectors_the_app_reproduces(tmp_path):
    """The wide JPEG and a DICOM of the parity vectors (grounding_vectors.py parity: one image at a time, mkldnn on,
    the default threads), 3 phrases x frozen/tuned: what the app's runtime matches to 1e-3 (parity.test.ts)."""
    require_module("pydicom", what="the DICOM case")
    index = json.loads((PARITY / "index.json").read_text())
    assert index["bundle_manifest_sha256"] == hashlib.sha256((B.DEMO / "manifest.json").read_bytes()).hexdigest()
    files = {i["name"]: B.REPO / i["file"] for i in index["images"]}
    phrases = sorted({c["phrase"] for c in index["cases"]})
    names = ["wide-jpeg", "dicom-0"]
    images = [B.image_entry(files[n], B.REPO, phrases) for n in names]
    B.make_job(tmp_path / "job", images=images, shard_size=2, variants=("frozen", "tuned"), data_root=B.REPO)
    r = B.run_batch(tmp_path / "job", "--data-root", str(B.REPO))  # the later --data-root wins
    assert r.returncode == 0, r.stderr[-3000:]
    maps, _ = sealed_maps(tmp_path / "job" / "results")
    blob = np.fromfile(PARITY / "maps.f32", dtype="<f4")
    size = index["size"]
    n = 0
    for c in index["cases"]:
        if c["image"] not in names:
            continue
        got, thr = maps[(names.index(c["image"]), c["variant"], c["phrase"])]
        want = blob[c["offset"]:c["offset"] + size * size].reshape(size, size)
        assert float(np.abs(got - want).max()) <= 1e-5, c
        # the same Otsu bin (a last-bit difference could move one value across a bin edge: at most one bin apart)
        assert (thr is None) == (c["threshold"] is None) and (thr is None or abs(thr - c["threshold"]) <= 1 / 256), c
        n += 1
    assert n == 2 * 3 * 2
