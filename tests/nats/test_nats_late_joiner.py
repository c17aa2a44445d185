"""Late joiners: the latest metadata frames in first-seen order, then live frames, exactly."""

from __future__ import annotations

import threading
import time

from natshelpers import deliveries, numbered
from natsservers import wait_for

from g3stream.frame import G3FrameType
from g3stream.nats import G3NatsSender, NatsSource


def test_late_joiner_gets_latest_metadata_in_first_seen_order_then_live_frames(nats_server):
    url = f"{nats_server.url}/LATE"
    sender = G3NatsSender(url)
    try:
        sender(numbered(0, "Observation"))
        sender(numbered(1, "Calibration"))
        sender(numbered(2, "Wiring"))
        for i in range(3, 50):
            sender(numbered(i, G3FrameType.Timepoint))
        sender(numbered(50, "Scan"))
        sender(numbered(51, "Calibration"))  # an update: keeps its first-seen place
        sender(numbered(52, "Housekeeping"))
        sender(numbered(53, G3FrameType.Timepoint))
        wait_for(lambda: sender.statistics().frames_sent == 54, 30, "acknowledgements")
        joiner = NatsSource(url)  # start=new is the default
        try:
            snapshot = list(deliveries(joiner, 4))
            assert [(str(f.type), int(f["i"])) for f in snapshot] == [
                ("Observation", 0),
                ("Calibration", 51),
                ("Wiring", 2),
                ("Housekeeping", 52),
            ]
            assert joiner.statistics().snapshot_frames == 4
            assert joiner.next_delivery(0.5) is None  # nothing old beyond the snapshot
            sender(numbered(54, G3FrameType.Timepoint))
            sender(numbered(55, "Calibration"))
            live = list(deliveries(joiner, 2))
            assert [(str(f.type), int(f["i"])) for f in live] == [
                ("Timepoint", 54),
                ("Calibration", 55),
            ]
        finally:
            joiner.close()
    finally:
        sender.Close()


def test_joining_mid_stream_neither_skips_nor_repeats_a_frame(nats_server):
    """Calibration every 7th frame: the snapshot's one must be the last before the first live."""
    url = f"{nats_server.url}/HANDOVER"
    sender = G3NatsSender(url)
    sender(numbered(0, "Observation"))
    stop = threading.Event()
    count = [0]

    def publish() -> None:
        i = 1
        while not stop.is_set():
            sender(numbered(i, "Calibration" if i % 7 == 0 else G3FrameType.Timepoint))
            count[0] = i
            i += 1
            if i % 100 == 0:
                time.sleep(0.01)  # pacing: a DAQ-like rate, not synchronisation

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        wait_for(lambda: count[0] > 500, 60, "the first frames")
        for _ in range(5):  # five joiners at different moments of the stream
            joiner = NatsSource(url)
            try:
                n_snap = joiner.statistics().snapshot_frames
                snap = list(deliveries(joiner, n_snap))
                assert [str(f.type) for f in snap] == ["Observation", "Calibration"][:n_snap]
                first = next(deliveries(joiner, 1))
                i0 = int(first["i"])
                # the Calibration in the snapshot is the last one before the first live frame
                assert n_snap == 2 and int(snap[1]["i"]) == (i0 - 1) // 7 * 7, (snap, i0)
                rest = [int(f["i"]) for f in deliveries(joiner, 300)]
                assert rest == list(range(i0 + 1, i0 + 301))
            finally:
                joiner.close()
    finally:
        stop.set()
        thread.join(120)
        sender.Close()
