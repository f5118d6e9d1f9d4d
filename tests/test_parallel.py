"""gis._parallel.fork_map: order, errors, and no hang when the caller handles SIGTERM."""

import subprocess
import sys
import textwrap

import pytest

from gis._parallel import fork_map


def test_results_in_order_and_errors_raised_here():
    assert fork_map(lambda x: x * x, range(7), processes=2) == [0, 1, 4, 9, 16, 25, 36]
    with pytest.raises(ZeroDivisionError):
        fork_map(lambda x: 1 / x, [1, 0, 2], processes=2)


def test_inherits_what_the_function_closes_over_and_nests_serially():
    big = list(range(100_000))  # inherited by fork, never pickled

    def outer(k):
        return sum(fork_map(lambda i: big[i] * k, [1, 2, 3], processes=2))

    assert fork_map(outer, [1, 10], processes=2) == [6, 60]


def test_no_hang_under_a_sigterm_handler():
    """gis build turns SIGTERM into SystemExit; workers inherited it, and the pool's SIGTERM
    on exit could leave a worker waiting for ever on the task queue's lock (a national build
    hung after polygonising). Hundreds of pools in a row must all finish."""
    script = textwrap.dedent("""
        import signal
        from gis._parallel import fork_map
        def stop(signum, frame):
            raise SystemExit(128 + signum)
        signal.signal(signal.SIGTERM, stop)
        for _ in range(200):
            assert fork_map(lambda x: x + 1, [1, 2, 3], 2) == [2, 3, 4]
        print("done")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr[-2000:]
