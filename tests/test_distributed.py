"""`annotate` on a Dask cluster keeps every promise of a single-process run.

One local cluster of two worker processes serves the module. Its workers see a third-party
plugin registered only through an entry point (a dist-info folder on PYTHONPATH, as an
installed package would have): its codebook names its detector, which flags a marker word
and, when a test arms it, kills the worker process that meets that word, so a test can kill
a worker in the middle of a partition.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")
from distributed import Client, LocalCluster  # noqa: E402

from themekit.annotate import annotate_file  # noqa: E402
from themekit.cli import main  # noqa: E402
from themekit.distributed import ClusterCoder, PipelineSpec  # noqa: E402
from themekit.errors import ClusterError, StrictModeError  # noqa: E402
from themekit.plugins import LOAD_PLUGINS_ENV, REGISTRY  # noqa: E402
from tests.test_annotate import interrupt_at  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PLUGIN = '''
import os
from pathlib import Path

from spacy.tokens import Span

from themekit import hookimpl
from themekit.plugins.types import Detector, RegisteredCodebook


def build_tripwire(nlp):
    def find(doc):
        spans = [Span(doc, t.i, t.i + 1, label="disttest.tripwire") for t in doc
                 if t.text == "TRIPWIRE"]
        arm = Path(os.environ["DISTTEST_ARM"])
        if spans and arm.exists() and _in_worker():
            if arm.read_text() != "always":
                arm.unlink()  # once: the partition's next try goes through
            os._exit(1)  # as a worker killed by the OOM killer dies: no cleanup at all
        return spans

    return find


def _in_worker():
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@hookimpl
def register_detectors(register):
    register(Detector("disttest.tripwire", build_tripwire, "A test marker word."))


@hookimpl
def register_codebooks(register):
    register(RegisteredCodebook("disttest", Path(__file__).with_name("disttest.yaml"),
                                "Verdicts, for the distributed tests."))
'''
CODEBOOK = '''
name: disttest
version: "1"
tiers:
  - id: verdict
    type: exclusive
    default: unclear
    codes:
      - id: keep
        definition: Keeps using it.
        patterns: [recommend, "love it", helps]
      - id: quit
        definition: Stopped using it.
        patterns: [uninstalled, "deleted it", quit]
      - id: unclear
        definition: No verdict.
detectors: [pii.email, disttest.tripwire]
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """A third-party plugin installed the way pip would, seen by this process and (through
    PYTHONPATH, before the cluster starts) by every worker process."""
    root = tmp_path_factory.mktemp("site")
    (root / "disttest_plugin").mkdir()
    (root / "disttest_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (root / "disttest_plugin" / "disttest.yaml").write_text(CODEBOOK)
    info = root / "disttest_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: disttest-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[themekit]\ndisttest = disttest_plugin\n")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "DISTTEST_ARM", LOAD_PLUGINS_ENV)}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), saved["PYTHONPATH"]]))
    os.environ["DISTTEST_ARM"] = str(root / "arm")
    os.environ[LOAD_PLUGINS_ENV] = "disttest"  # this one third-party plugin, here and on workers
    sys.path.insert(0, str(root))
    _reload_plugins()
    yield root
    sys.path.remove(str(root))
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reload_plugins()


def _reload_plugins():
    REGISTRY.reset()


@pytest.fixture(scope="module")
def cluster(plugin_dir):
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:
        yield local


@pytest.fixture
def client(cluster):
    with Client(cluster) as dask_client:
        dask_client.wait_for_workers(2)
        yield dask_client


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """300 lines: the shipped example comments again and again, with bad records, records
    without an id and repeated ids spread over many partitions."""
    examples = [json.loads(line)["text"] for line in
                (REPO / "examples" / "comments.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = []
    for i in range(300):
        if i % 37 == 5:
            lines.append(b'{"id": "broken", "text": ')
        elif i % 41 == 7:
            lines.append(b'{"id": "x%d", "body": "no text field"}' % i)
        elif i % 53 == 11:
            lines.append(b'{"id": "y%d", "text": "caf\xe9"}' % i)
        elif i % 61 == 13:
            lines.append(b"")
        else:
            record = {"id": f"c{i}" if i % 29 else "c1", "n": i,
                      "text": examples[i % len(examples)]}
            if i % 43 == 0:
                del record["id"]
                record["text"] = "I love it, TRIPWIRE, mail me at someone@example.org"
            lines.append(json.dumps(record, ensure_ascii=False).encode())
    path = tmp_path_factory.mktemp("corpus") / "comments.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def annotate_both(tmp_path, corpus, client, spec, **settings):
    """The same job in this process and on the cluster: (single, distributed), each the
    summary, the output's records and the errors file's records."""
    nlp = spec.build()
    runs = []
    for name, coder in (("single", None),
                        ("cluster", ClusterCoder(client, spec, partition_size=16,
                                                 redact=settings.get("redact", False)))):
        out = tmp_path / name / "coded.jsonl"
        summary = annotate_file(nlp, str(corpus), str(out), coder=coder, **settings)
        runs.append((summary, read_jsonl(out), read_jsonl(tmp_path / name / "coded.errors.jsonl")))
    return runs


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("redact", [False, True])
def test_cluster_output_equals_single_process_record_by_record(tmp_path, corpus, client,
                                                                redact):
    spec = PipelineSpec.of("llm-mental-health", rules_only=True)
    (single, coded, errors), (dist, dist_coded, dist_errors) = annotate_both(
        tmp_path, corpus, client, spec, redact=redact)
    assert len(coded) == dist.written == single.written
    for mine, theirs in zip(dist_coded, coded, strict=True):
        assert mine == theirs
    assert [r["n"] for r in dist_coded] == sorted(r["n"] for r in dist_coded)  # input order
    assert dist_errors == errors
    assert [e["line"] for e in dist_errors] == [i + 1 for i in range(300) if i % 37 == 5
                                                or i % 41 == 7 or i % 53 == 11 or i % 61 == 13]
    assert (dist.read, dist.written, dist.rejected) == (single.read, single.written,
                                                        single.rejected)
    assert dist.read == 300 and dist.balanced
    assert dist.id_warnings("id") == single.id_warnings("id") != []


def test_with_the_model_workers_with_one_torch_thread_code_as_one_process_does(tmp_path,
                                                                              client):
    spec = PipelineSpec.of("llm-mental-health")  # the shipped model, one torch thread each
    examples = REPO / "examples" / "comments.jsonl"
    nlp = spec.build()
    runs = []
    # five partitions of one batch each: the model's scores depend, in their last digit,
    # on the texts a batch pads together, so partitions are whole batches
    for name, coder in (("single", None), ("cluster", ClusterCoder(client, spec, batch_size=8,
                                                                   partition_size=8))):
        annotate_file(nlp, str(examples), str(tmp_path / f"{name}.jsonl"), coder=coder,
                      batch_size=8)
        runs.append(read_jsonl(tmp_path / f"{name}.jsonl"))
    assert runs[1] == runs[0]
    assert {r["themekit"]["model"]["name"] for r in runs[1]} == {"llm-mental-health-heads"}
    assert set(client.run(_torch_threads).values()) == {1}


def test_partitions_are_whole_batches(client):
    spec = PipelineSpec.of("llm-mental-health", rules_only=True)
    assert ClusterCoder(client, spec, batch_size=256, partition_size=500).partition_size == 512
    assert ClusterCoder(client, spec, batch_size=8, partition_size=16).partition_size == 16


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def test_a_plugin_registered_by_entry_point_codes_on_the_workers(tmp_path, corpus, client):
    spec = PipelineSpec.of("disttest")
    (_, coded, _), (_, dist_coded, _) = annotate_both(tmp_path, corpus, client, spec)
    assert dist_coded == coded
    flagged = [r for r in dist_coded if "disttest.tripwire" in r["themekit"]["flags"]]
    assert len(flagged) == 7
    assert all(r["themekit"]["codes"]["verdict"] == "keep" for r in flagged)
    # the pipeline with the plugin's detector pickles, and codes the same after
    nlp = spec.build()
    text = "I love it, TRIPWIRE, mail me at someone@example.org"
    assert pickle.loads(pickle.dumps(nlp))(text)._.themekit == nlp(text)._.themekit


def test_a_worker_killed_mid_partition_has_it_run_again_and_nothing_is_lost(
        tmp_path, corpus, client, plugin_dir):
    spec = PipelineSpec.of("disttest")
    nlp = spec.build()
    reference = tmp_path / "single.jsonl"
    annotate_file(nlp, str(corpus), str(reference))
    arm = plugin_dir / "arm"
    arm.write_text("once")
    before = set(client.run(os.getpid).values())
    out = tmp_path / "cluster.jsonl"
    summary = annotate_file(nlp, str(corpus), str(out),
                            coder=ClusterCoder(client, spec, partition_size=16))
    assert not arm.exists()  # a worker met the marker and died
    client.wait_for_workers(2)
    assert set(client.run(os.getpid).values()) != before  # and the nanny started another
    assert read_jsonl(out) == read_jsonl(reference)
    assert summary.balanced and summary.written == len(read_jsonl(reference))


def test_a_partition_whose_workers_keep_dying_fails_the_job_and_writes_nothing(
        tmp_path, corpus, client, cluster, plugin_dir):
    out = tmp_path / "coded.jsonl"
    out.write_text("an earlier run's output\n")
    (plugin_dir / "arm").write_text("always")
    cluster.scheduler.allowed_failures = 1  # two deaths, not four: each restart takes seconds
    try:
        with pytest.raises(ClusterError, match=r"input lines \d+-\d+: every worker that "
                                               r"coded them died \(2 tries"):
            annotate_file(PipelineSpec.of("disttest").build(), str(corpus), str(out),
                          coder=ClusterCoder(client, PipelineSpec.of("disttest"),
                                             partition_size=16))
    finally:
        (plugin_dir / "arm").unlink(missing_ok=True)
        cluster.scheduler.allowed_failures = 3
    assert out.read_text() == "an earlier run's output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coded.jsonl"]  # no partial file
    client.wait_for_workers(2)


def test_an_interrupted_cluster_run_resumes_to_the_single_process_output(tmp_path, corpus,
                                                                         client):
    spec = PipelineSpec.of("llm-mental-health", rules_only=True)
    nlp = spec.build()
    annotate_file(nlp, str(corpus), str(tmp_path / "single.jsonl"))
    out = tmp_path / "cluster.jsonl"

    coder = ClusterCoder(client, spec, partition_size=16)
    with pytest.raises(KeyboardInterrupt):
        annotate_file(nlp, str(corpus), str(out), coder=coder, resume=True,
                      on_record=interrupt_at(100))
    assert not out.exists()
    summary = annotate_file(nlp, str(corpus), str(out), coder=coder, resume=True)
    assert summary.resumed > 0 and summary.balanced
    assert out.read_bytes() == (tmp_path / "single.jsonl").read_bytes()


def test_strict_stops_a_cluster_run_at_the_first_bad_record(tmp_path, corpus, client):
    out = tmp_path / "coded.jsonl"
    spec = PipelineSpec.of("llm-mental-health", rules_only=True)
    with pytest.raises(StrictModeError, match="line 6"):
        annotate_file(spec.build(), str(corpus), str(out), strict=True,
                      coder=ClusterCoder(client, spec, partition_size=16))
    assert list(tmp_path.iterdir()) == []


def test_cli_sends_the_job_to_a_running_scheduler(tmp_path, corpus, cluster, monkeypatch):
    single, dist = tmp_path / "single.jsonl", tmp_path / "dist.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["annotate", str(corpus), "-o", str(single), "--rules-only"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    result = runner.invoke(main, ["annotate", str(corpus), "-o", str(dist), "--rules-only",
                                  "--partition-size", "32"])
    assert result.exit_code == 0, result.output
    assert f"Dask: 2 worker(s), scheduler {cluster.scheduler_address}" in result.output
    assert "2 Dask worker(s), peak memory" in result.output
    assert "read 300 · written 273 · rejected 27" in result.output
    assert dist.read_bytes() == single.read_bytes()
    assert (tmp_path / "dist.errors.jsonl").read_bytes() \
        == (tmp_path / "single.errors.jsonl").read_bytes()


def test_cli_starts_a_local_cluster_for_workers(tmp_path, corpus):
    out = tmp_path / "coded.jsonl"
    result = CliRunner().invoke(main, ["annotate", str(corpus), "-o", str(out), "--rules-only",
                                       "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "Dask: 2 worker(s), scheduler tcp://127.0.0.1:" in result.output
    assert len(read_jsonl(out)) == 273


def test_workers_without_dask_fail_before_any_work_in_one_line(tmp_path, corpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    out = tmp_path / "coded.jsonl"
    result = CliRunner().invoke(main, ["annotate", str(corpus), "-o", str(out), "--rules-only",
                                       "--workers", "2"])
    assert result.exit_code == 1
    assert result.output.strip() == ("error: coding on Dask workers needs the dask extra: pip "
                                     "install 'themekit[dask]'")
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--torch-threads", "2"], "give --workers or --scheduler"),
    (["--partition-size", "10"], "give --workers or --scheduler"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--workers", "0"], "0 is not in the range x>=1"),
])
def test_cluster_options_are_checked_before_any_work(tmp_path, corpus, args, message):
    out = tmp_path / "coded.jsonl"
    result = CliRunner().invoke(main, ["annotate", str(corpus), "-o", str(out), "--rules-only",
                                       *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, corpus):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(main, ["annotate", str(corpus), "-o", str(tmp_path / "o.jsonl"),
                                           "--rules-only", "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "error: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_coding_does_not_depend_on_the_process_hash_seed():
    """Each worker is a process with its own string-hash seed: a code's pattern weights
    summed in a set's order gave 'positive': 0.0 under some seeds (5 here) and nothing
    under others, so a worker coded this text differently from the driver."""
    text = "it is really good and great, but not helpful and it doesn't help"
    script = ("import json, spacy; nlp = spacy.blank('en'); nlp.add_pipe('themekit', config="
              "{'codebook': 'llm-mental-health', 'rules_only': True}); "
              f"print(json.dumps(nlp({text!r})._.themekit.to_json()))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONHASHSEED": "5"}).stdout
    assert json.loads(out)["scores"] == {"negative": 1.0}
