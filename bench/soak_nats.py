"""Longer variants of the NATS tests: more recorder kills, longer link outages.

The CI tests (tests/nats) kill the durable recorder 10 times during 100,000
frames (and 6 times during 40,000 while it writes gzip files rotated at
40 kB), kill relays (from a file, and from another stream) 4 times each
during 30,000 frames, and cut the site-to-hub link for about 3 s.  This
script runs the same tests with larger numbers, against the same real
servers:

    python bench/soak_nats.py --kills 50 --frames 500000
    python bench/soak_nats.py --only gzip --gzip-kills 40 --gzip-frames 200000
    python bench/soak_nats.py --only relays --relay-kills 40
    python bench/soak_nats.py --only outage --outage 120

Each scenario prints PASS or the assertion that failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests" / "nats"
sys.path.insert(0, str(TESTS))

import test_nats_durable as durable  # noqa: E402
import test_nats_relay_kills as relays  # noqa: E402
import test_nats_remote_site as site  # noqa: E402
from natsservers import NatsServer  # noqa: E402


def run(name: str, scenario) -> bool:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scenario(Path(tmp))
    except Exception:
        print(f"{name}: FAIL after {time.monotonic() - start:.0f} s")
        traceback.print_exc()
        return False
    print(f"{name}: PASS in {time.monotonic() - start:.0f} s")
    return True


def kills(tmp: Path) -> None:
    server = NatsServer(tmp / "nats").start()
    try:
        durable.test_recorder_killed_ten_times_records_every_frame_exactly_once(server, tmp)
    finally:
        server.stop()


def gzip_kills(tmp: Path) -> None:
    server = NatsServer(tmp / "nats").start()
    try:
        durable.test_gzip_rotated_recording_killed_and_restarted_has_every_frame_once(server, tmp)
    finally:
        server.stop()


def relay_kills(tmp: Path) -> None:
    server = NatsServer(tmp / "nats").start()
    try:
        relays.test_a_file_relay_killed_four_times_stores_every_frame_once(server, tmp)
        relays.test_a_relay_between_streams_killed_four_times_stores_every_frame_once(server)
    finally:
        server.stop()


def outage(tmp: Path) -> None:
    site.test_hub_catches_up_with_the_site_after_the_link_was_down(tmp)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", choices=["kills", "gzip", "relays", "outage"], nargs="*")
    ap.add_argument("--kills", type=int, default=50, help="recorder kills (CI: 10)")
    ap.add_argument("--frames", type=int, default=500_000, help="frames published (CI: 100,000)")
    ap.add_argument("--gzip-kills", type=int, default=30, help="kills of the gzip recorder (CI: 6)")
    ap.add_argument(
        "--gzip-frames", type=int, default=200_000, help="frames of the gzip test (CI: 40,000)"
    )
    ap.add_argument("--relay-kills", type=int, default=20, help="kills of each relay (CI: 4)")
    ap.add_argument("--outage", type=float, default=60.0, help="seconds the hub is down (CI: 3)")
    args = ap.parse_args()
    durable.KILLS, durable.TOTAL = args.kills, args.frames
    durable.GZ_KILLS, durable.GZ_TOTAL = args.gzip_kills, args.gzip_frames
    relays.KILLS = args.relay_kills
    site.OUTAGE_FRAMES = int(args.outage * site.RATE)
    site.TOTAL = site.OUTAGE_FRAMES * 2 + 600
    want = args.only or ["kills", "gzip", "relays", "outage"]
    ok = True
    if "kills" in want:
        ok &= run(f"recorder killed {args.kills} times, {args.frames} frames", kills)
    if "gzip" in want:
        name = f"gzip recorder killed {args.gzip_kills} times, {args.gzip_frames} frames"
        ok &= run(name, gzip_kills)
    if "relays" in want:
        ok &= run(f"relays killed {args.relay_kills} times each", relay_kills)
    if "outage" in want:
        ok &= run(f"site-to-hub link down {args.outage:g} s at {site.RATE} Hz", outage)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
