"""The served process leaves its startup objects out of garbage collections."""

import gc

from chanalytics.app import freeze_startup_objects


def test_startup_objects_are_left_out_of_collections() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert gc.get_freeze_count() > 0  # a full collection does not take them back
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
