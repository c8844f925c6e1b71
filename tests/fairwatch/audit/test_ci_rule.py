"""Under CI=true a skipped integration test fails the run, and so does an empty run."""

from __future__ import annotations

import pytest

from tests.paths import ROOT

CONFTEST = ROOT / "tests" / "conftest.py"

TESTS = """
import pytest

from tests.paths import ROOT
from tests.paths import ROOT

@pytest.mark.integration
def test_needs_a_server():
    pytest.skip("no server")

def test_plain():
    assert True
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # seconds faster per run
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    integration: needs servers\n")
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def test_a_skipped_integration_test_fails_the_run_under_ci(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest()
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*integration tests skipped under CI*", "*test_needs_a_server: *no server*"]
    )


def test_outside_ci_a_skip_is_only_reported(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.OK


def test_deselecting_integration_tests_is_not_a_skip(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest("-m", "not integration")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK


def test_tests_using_server_fixtures_are_marked_integration(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    suite.makepyfile(test_fixture_user="def test_uses_broker(kafka_bootstrap):\n    assert 0\n")
    result = suite.runpytest("-m", "not integration", "test_fixture_user.py")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_tests_in_an_integration_folder_are_marked_integration(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a marker or a server fixture: the folder is enough (the folder's name is among
    the item's keywords, so the rule must look at the markers, not the keywords)."""
    monkeypatch.setenv("CI", "true")
    folder = suite.mkpydir("integration")
    (folder / "test_in_folder.py").write_text("def test_talks_to_a_server():\n    assert 0\n")
    result = suite.runpytest("-m", "not integration", "integration")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result = suite.runpytest("-m", "integration", "integration")
    result.assert_outcomes(failed=1)


def test_an_empty_run_does_not_pass_under_ci(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest("-k", "no_such_test")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
