"""Source of ``peak_rss_kib()``, for the child processes the memory benchmarks start.

A child's own peak resident set size is ``VmHWM`` in ``/proc/self/status``.
``resource.getrusage``'s ``ru_maxrss`` is only the fallback where there is no
``/proc``: Linux carries the parent's high-water mark across fork (or vfork) and
exec into the child's ``ru_maxrss``, so a child of a large benchmark process
would report at least its parent's peak.
"""

PEAK_RSS_SOURCE = r"""
import resource


def peak_rss_kib():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""
