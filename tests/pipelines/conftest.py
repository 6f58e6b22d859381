import pytest

from longweave.eval.needles import make_needle_task


@pytest.fixture(scope="session")
def one_hop_100k():
    """A fact near the start of a 100k-token document."""
    return make_needle_task(100_000, hops=1, depths=0.08, seed=11)


@pytest.fixture(scope="session")
def two_hop_100k():
    """A two-hop fact whose halves sit 80% of the document apart."""
    return make_needle_task(100_000, hops=2, depths=(0.1, 0.9), seed=12)


@pytest.fixture(scope="session")
def middle_100k():
    return make_needle_task(100_000, hops=1, depths=0.5, seed=13)
