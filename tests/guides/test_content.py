"""The guides as content: the system check on the real guides and on broken copies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.support import ROOT
from troubleshooter.guides import content
from troubleshooter.guides.content import get_library, load_library
from troubleshooter.vocabulary import CAUSE_IDS, FRAMEWORK_IDS

# Causes that happen in application code, and so need a broken/fixed pair in every framework.
CODE_CAUSES_IN_EVERY_FRAMEWORK = (
    "server-buffering",
    "proxy-buffering",
    "idle-timeout",
    "client-disconnect",
    "blocking-event-loop",
    "event-loop-misuse",
    "callback-exception",
    "state-growth",
    "version-drift",
    "token-limit",
    "upstream-error",
)


def guide_errors() -> list[str]:
    return [m.msg for m in run_checks(tags=["guides"])]


def test_the_real_guides_pass_the_system_check():
    assert guide_errors() == []
    call_command("check")  # the same check through manage.py: raises on any error


def test_every_cause_in_the_vocabulary_has_a_page_and_no_page_is_outside_it():
    library = get_library()
    assert sorted(library.causes) == sorted(CAUSE_IDS)


def test_every_framework_has_a_guide_page():
    assert list(get_library().frameworks) == list(FRAMEWORK_IDS)


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_every_framework_has_a_pair_for_each_cause_that_happens_in_code(framework_id):
    library = get_library()
    for cause_id in CODE_CAUSES_IN_EVERY_FRAMEWORK:
        pair = library.causes[cause_id].pairs.get(framework_id)
        assert pair is not None, f"{cause_id} has no {framework_id} pair"
        assert pair.diff.broken.text != pair.diff.fixed.text
        assert pair.diff.added_count > 0 or pair.diff.removed_count > 0


def test_every_cause_ends_with_a_fix_in_code_or_infrastructure():
    for cause in get_library().causes.values():
        assert cause.pairs or cause.infra, cause.id
        assert [s.title for s in cause.sections][:4] == list(content.REQUIRED_SECTIONS)


def test_every_tree_leaf_names_known_causes_and_every_cause_is_reachable_from_the_tree():
    library = get_library()
    named = {item.cause_id for leaf in library.tree.leaves.values() for item in leaf.causes}
    assert named == set(CAUSE_IDS)


def test_every_python_sample_imports_against_the_installed_frameworks():
    """Samples must use real APIs: each one is imported in a clean interpreter."""
    samples = sorted(str(p) for p in (ROOT / "guides" / "code").rglob("*.py"))
    assert len(samples) >= 80
    script = """
import importlib.util, json, sys, traceback
failures = {}
for index, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"guide_sample_{index}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        failures[path] = traceback.format_exc(limit=2)
print(json.dumps(failures))
"""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["OPENAI_API_KEY"] = "sk-test-never-used"  # some clients insist on one at construction
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the guides folder free of __pycache__
    result = subprocess.run(
        [sys.executable, "-c", script, *samples],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{k}:\n{v}" for k, v in failures.items())


# --- broken guides are caught, naming the file and the field ------------------------------


def errors_for(guides: Path) -> list[str]:
    _library, problems = load_library(guides)
    return [str(p) for p in problems]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_missing_field_is_reported_with_its_file_and_field(guides_copy):
    replace_in(guides_copy / "causes" / "proxy-buffering.md", "\ntitle:", "\nheadline:")
    assert "guides/causes/proxy-buffering.md [title]: is required" in errors_for(guides_copy)


def test_an_unknown_cause_id_in_the_tree_is_reported(guides_copy):
    replace_in(guides_copy / "tree.yaml", "id: token-limit", "id: token-limits")
    assert any(
        "guides/tree.yaml" in e and "unknown cause id 'token-limits'" in e
        for e in errors_for(guides_copy)
    )


def test_a_dangling_tree_edge_is_reported(guides_copy):
    replace_in(guides_copy / "tree.yaml", "next: symptom", "next: nowhere-at-all")
    errors = errors_for(guides_copy)
    assert any("'nowhere-at-all' is neither a question nor a leaf" in e for e in errors)


def test_an_unreachable_tree_node_is_reported(guides_copy):
    tree = guides_copy / "tree.yaml"
    tree.write_text(
        tree.read_text()
        + "\n  orphan-leaf:\n    title: Nobody gets here\n    causes:\n"
        + "      - id: token-limit\n        why: Never shown.\n"
    )
    assert "guides/tree.yaml [leaves.orphan-leaf]: cannot be reached from start" in errors_for(guides_copy)


def test_a_cycle_in_the_tree_is_reported(guides_copy):
    import yaml

    tree_path = guides_copy / "tree.yaml"
    tree = yaml.safe_load(tree_path.read_text())
    second = tree["questions"][tree["start"]]["answers"][0]["next"]
    tree["questions"][second]["answers"][0]["next"] = tree["start"]
    tree_path.write_text(yaml.safe_dump(tree, sort_keys=False))
    assert any("is part of a cycle" in e for e in errors_for(guides_copy))


def test_a_sample_that_does_not_compile_is_reported(guides_copy):
    sample = guides_copy / "code" / "server-buffering" / "langchain" / "fixed.py"
    sample.write_text(sample.read_text() + "\ndef broken(:\n")
    errors = errors_for(guides_copy)
    assert any(
        e.startswith("guides/code/server-buffering/langchain/fixed.py [code]: does not compile")
        for e in errors
    )


def test_a_missing_code_pair_is_reported(guides_copy):
    (guides_copy / "code" / "token-limit" / "autogen" / "broken.py").unlink()
    assert "guides/code/token-limit/autogen/broken.py: file is missing" in errors_for(guides_copy)


def test_an_unknown_cause_id_in_a_platform_setting_is_reported(guides_copy):
    replace_in(guides_copy / "platforms.yaml", "proxy-buffering", "proxy-bufering")
    assert any(
        "guides/platforms.yaml" in e and "unknown cause id 'proxy-bufering'" in e
        for e in errors_for(guides_copy)
    )


def test_a_missing_required_section_is_reported(guides_copy):
    replace_in(guides_copy / "causes" / "token-limit.md", "## Prevention", "## Later")
    assert "guides/causes/token-limit.md [body]: is missing sections: Prevention" in errors_for(guides_copy)


def test_manage_py_check_fails_on_a_broken_guide(guides_copy):
    replace_in(guides_copy / "causes" / "idle-timeout.md", "\ngroup: delivery", "\ngroup: somewhere")
    with pytest.raises(SystemCheckError, match=r"guides/causes/idle-timeout.md: group: 'somewhere'"):
        call_command("check")


def test_a_broken_library_is_never_served(guides_copy):
    replace_in(guides_copy / "causes" / "idle-timeout.md", "\ngroup: delivery", "\ngroup: somewhere")
    with pytest.raises(content.ContentError):
        get_library()


# --- loading once, reloading in DEBUG ----------------------------------------------------


def test_the_guides_are_read_once_when_debug_is_off(guides_copy, settings):
    settings.DEBUG = False
    first = get_library()
    (guides_copy / "causes" / "token-limit.md").write_text("not even front matter")
    assert get_library() is first


def test_an_edited_guide_is_picked_up_without_a_restart_when_debug_is_on(guides_copy, settings):
    settings.DEBUG = True
    first = get_library()
    assert get_library() is first  # unchanged files: the cached library
    time.sleep(0.01)
    guide = guides_copy / "causes" / "token-limit.md"
    guide.write_text(re.sub(r"(?m)^title: .*$", "title: Edited while the app runs", guide.read_text(), count=1))
    second = get_library()
    assert second is not first
    assert second.causes["token-limit"].title == "Edited while the app runs"


def test_the_llamaindex_samples_can_build_the_embedder_their_indexes_use_by_default():
    """The samples load indexes and query engines, which embed with OpenAI unless told
    otherwise: the package must be installed and named on the framework page, or every
    sample fails on its first request with an ImportError."""
    probe = (
        "from llama_index.core import Settings\n"
        "print(type(Settings.embed_model).__name__)\n"
    )
    env = {**os.environ, "OPENAI_API_KEY": "not-used-offline"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "OpenAIEmbedding"
    assert "llama-index-embeddings-openai" in get_library().frameworks["llamaindex"].packages
