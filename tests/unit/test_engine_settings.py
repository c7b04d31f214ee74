"""OpenCV's thread count, which the engines set to one while tasks run, is
back as it was afterwards, also on a worker that runs tasks in threads."""

import threading

import cv2

from tfdp.engine.local import opencv_single_threaded


def test_overlapping_tasks_leave_opencv_as_found():
    """Two threads of one worker run tasks that overlap (the first ends
    while the second runs, as on a ``dask worker --nthreads 2``): OpenCV's
    thread count is one while either runs and as it was after both."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        second_in = threading.Event()
        first_out = threading.Event()
        seen = {}

        def first():
            with opencv_single_threaded():
                seen["first"] = cv2.getNumThreads()
                second_in.wait(10)
            first_out.set()

        def second():
            with opencv_single_threaded():
                second_in.set()
                first_out.wait(10)
                seen["second"] = cv2.getNumThreads()

        threads = [threading.Thread(target=f) for f in (first, second)]
        threads[0].start()
        while "first" not in seen:
            threading.Event().wait(0.001)
        threads[1].start()
        for thread in threads:
            thread.join(20)
        assert seen == {"first": 1, "second": 1}
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(previous)


def test_nested_and_sequential_uses_leave_opencv_as_found():
    previous = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        with opencv_single_threaded():
            with opencv_single_threaded():
                assert cv2.getNumThreads() == 1
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 3
        with opencv_single_threaded():
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(previous)
