"""A small harness for real concurrency: run callables in threads released at once."""

import threading

from django.db import connection


def run_in_threads(count: int, work, *, timeout: float = 120) -> list:
    """Run work(i) for each i in range(count) in threads started together; return the results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected; the test asserts on them
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results
