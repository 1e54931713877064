import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# Property-based tests (tests/test_fuzz_*.py): a small deterministic profile by default (CI),
# the full run with SPIKINGGAMMA_FUZZ=full (>= 1,000 cases across the fuzz tests; BENCHMARKS.md).
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("full", max_examples=150, deadline=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.load_profile(os.environ.get("SPIKINGGAMMA_FUZZ", "ci"))

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory) -> Path:
    """Generated files (the Resolution explorer's trained networks) go to a temporary folder,
    not to the user's ~/.cache."""
    path = tmp_path_factory.mktemp("cache")
    old = os.environ.get("SPIKINGGAMMA_CACHE_DIR")
    os.environ["SPIKINGGAMMA_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SPIKINGGAMMA_CACHE_DIR", None)
    else:
        os.environ["SPIKINGGAMMA_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real data sets: $SPIKINGGAMMA_DATA_DIR, else ../shared/data beside the repository
    (skipped where absent, which CI turns into a failure)."""
    path = Path(os.environ.get("SPIKINGGAMMA_DATA_DIR") or DEFAULT_DATA)
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found (set SPIKINGGAMMA_DATA_DIR)")
    return path


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device present")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every test must run: a skip (missing browser, data, package) is a failure there.
    Only CUDA tests may skip, on machines without a GPU."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and "cuda" not in item.keywords:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"
