"""Liveness of the tcp:// source: retry timing, "resumed" on data, statistics, keep-alive,
bounded connection attempts, and no frame lost to a late first connection."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from g3net_testutil import TIMEOUT, Background, T, make_frame, read_source, seqs, wait_until

from g3stream.io import G3Reader
from g3stream.net import SourceState, SourceStatistics, TcpSource
from g3stream.net.sockets import KEEPALIVE_PROBES, enable_keepalive


def frame_bytes(seq: int) -> bytes:
    return bytes(make_frame(T, seq, 8).encoded())


def accept(listener: socket.socket) -> socket.socket:
    listener.settimeout(TIMEOUT)
    conn, _ = listener.accept()
    return conn


# -- retry timing ----------------------------------------------------------------


def test_first_retry_is_immediate_after_a_connection_that_delivered() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        # a long backoff: only an immediate first retry reconnects in time
        src = TcpSource(f"tcp://127.0.0.1:{port}", reconnect=True, initial_backoff=30.0)
        reader = Background(read_source, src, None, 2)
        with accept(listener) as conn:
            conn.sendall(frame_bytes(0))
        lost = time.monotonic()
        with accept(listener) as conn:
            again = time.monotonic() - lost
            conn.sendall(frame_bytes(1))
        assert seqs(reader.result()) == [0, 1]
        src.close()
    assert again < 5.0


def test_retries_back_off_with_jitter_up_to_the_maximum() -> None:
    """A sender that accepts and closes at once (a dying DAQ) is retried ever more slowly,
    never in a tight loop, each pause drawn at random up to ``max_backoff``."""
    initial, maximum = 0.02, 0.2
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        src = TcpSource(
            f"tcp://127.0.0.1:{port}",
            reconnect=True,
            initial_backoff=initial,
            max_backoff=maximum,
            timeout=TIMEOUT,
        )
        reader = Background(read_source, src)
        with accept(listener) as conn:
            conn.sendall(frame_bytes(0))
        stamps = []
        for _ in range(20):
            accept(listener).close()  # no data: the sender is not really back
            stamps.append(time.monotonic())
        src.close()
        assert seqs(reader.result()) == [0]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= initial / 2 * 0.9  # never a tight loop
    assert max(gaps) <= maximum + 0.3  # the cap holds (plus scheduling slack)
    late = gaps[6:]  # by now the backoff sits at its maximum
    assert min(late) >= maximum / 2 * 0.9
    # jitter: pauses are spread over [max/2, max], not all equal to max
    assert sum(g < 0.75 * maximum for g in late) >= 1


def test_resumed_is_logged_on_data_not_on_a_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="g3stream.net")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        src = TcpSource(
            f"tcp://127.0.0.1:{port}", reconnect=True, initial_backoff=0.01, max_backoff=0.05
        )
        reader = Background(read_source, src, None, 2)
        with accept(listener) as conn:
            conn.sendall(frame_bytes(0))
        accept(listener).close()  # a dying sender that still accepted the connection
        wait_until(lambda: src.statistics().outages >= 2)
        stats = src.statistics()
        # retrying, or connected again (the kernel completes the handshake before accept)
        assert stats.state in (SourceState.RECONNECTING, SourceState.CONNECTED)
        assert stats.reconnects == 0
        assert not any("resumed" in r.getMessage() for r in caplog.records)
        conn = accept(listener)
        wait_until(lambda: src.statistics().state is SourceState.CONNECTED)
        assert src.statistics().reconnects == 0  # connected, but nothing received yet
        assert not any("resumed" in r.getMessage() for r in caplog.records)
        with conn:
            conn.sendall(frame_bytes(1))
        assert seqs(reader.result()) == [0, 1]
        src.close()
    stats = src.statistics()
    assert stats.reconnects == 1 and stats.outages == 2 and stats.connections == 3
    resumed = [r.getMessage() for r in caplog.records if "resumed" in r.getMessage()]
    assert len(resumed) == 1
    # one warning per outage, however many attempts it took
    warnings = [r for r in caplog.records if "waiting for the stream to resume" in r.getMessage()]
    assert len(warnings) == 1


# -- statistics --------------------------------------------------------------------


def test_statistics_follow_the_source_from_another_thread() -> None:
    src = TcpSource("tcp://*:0", reconnect=True, timeout=TIMEOUT)
    stats = src.statistics()
    assert isinstance(stats, SourceStatistics)
    assert stats.state is SourceState.LISTENING and not stats.connected
    assert stats.last_frame_age_s is None and stats.bytes_received == 0
    with pytest.raises(AttributeError):
        stats.reconnects = 5  # type: ignore[misc]  # a frozen snapshot
    reader = Background(read_source, src, None, 3)
    data = frame_bytes(0) + frame_bytes(1)
    sender = socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT)
    wait_until(lambda: src.statistics().connected)
    assert src.statistics().state is SourceState.CONNECTED
    assert src.statistics().peer is not None
    sender.sendall(data)
    wait_until(lambda: src.statistics().bytes_received == len(data))
    stats = src.statistics()
    assert stats.state is SourceState.STREAMING
    assert stats.last_frame_age_s is not None and 0 <= stats.last_frame_age_s < TIMEOUT
    sender.close()
    wait_until(lambda: src.statistics().state is SourceState.RECONNECTING)
    stats = src.statistics()
    assert not stats.connected and stats.outages == 1 and stats.peer is None
    with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as second:
        second.sendall(frame_bytes(2))
        assert seqs(reader.result()) == [0, 1, 2]
    assert src.statistics().reconnects == 1
    src.close()
    assert src.statistics().state is SourceState.CLOSED


def test_statistics_of_a_source_that_ended() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", timeout=TIMEOUT)
        with accept(listener) as conn:
            conn.sendall(frame_bytes(0))
        assert seqs(read_source(src)) == [0]
    stats = src.statistics()
    assert stats.state is SourceState.ENDED and not stats.connected
    assert stats.connections == 1 and stats.bytes_received == len(frame_bytes(0))


def test_reader_statistics_age_counts_from_the_last_frame() -> None:
    reader = G3Reader("tcp://*:0", timeout=TIMEOUT)
    assert reader.port is not None
    stats = reader.statistics()
    assert stats is not None and stats.state is SourceState.LISTENING
    sender = socket.create_connection(("127.0.0.1", reader.port), timeout=TIMEOUT)
    first = frame_bytes(0)
    # a whole frame, then half of the next: data keeps arriving, frames do not
    sender.sendall(first + frame_bytes(1)[:20])
    assert seqs(reader(None)) == [0]
    collector = Background(reader, None)
    wait_until(lambda: reader.statistics().bytes_received == len(first) + 20)  # type: ignore[union-attr]
    before = reader.statistics()
    assert before is not None and before.last_frame_age_s is not None
    wait_until(lambda: reader.statistics().last_frame_age_s > before.last_frame_age_s + 0.05)  # type: ignore[union-attr]
    sender.sendall(frame_bytes(1)[20:])
    assert seqs(collector.result()) == [1]
    after = reader.statistics()
    assert after is not None and after.last_frame_age_s is not None
    assert after.last_frame_age_s < 1.0
    sender.close()
    assert reader(None) == []
    assert reader.statistics().state is SourceState.ENDED  # type: ignore[union-attr]
    reader.close()


def test_reader_of_files_has_no_statistics(tmp_path: Path) -> None:
    path = tmp_path / "one.g3"
    path.write_bytes(frame_bytes(0))
    with G3Reader(str(path)) as reader:
        assert reader.statistics() is None


# -- keep-alive ------------------------------------------------------------------


def keepalive_of(sock: socket.socket) -> tuple[int, int | None]:
    """SO_KEEPALIVE and the idle time the kernel holds for ``sock``."""
    on = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    option = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))
    idle = sock.getsockopt(socket.IPPROTO_TCP, option) if option is not None else None
    return on, idle


def test_keepalive_options_reach_the_kernel() -> None:
    with socket.socket() as sock:
        enable_keepalive(sock, 8)
        on, idle = keepalive_of(sock)
        assert on and idle in (8, None)
        if hasattr(socket, "TCP_KEEPINTVL"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 2
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == KEEPALIVE_PROBES


@pytest.mark.parametrize("listen", [False, True])
def test_every_stream_socket_has_keepalive(listen: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        if listen:
            src = TcpSource("tcp://*:0", keepalive_idle=7, timeout=TIMEOUT)
            peer = socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT)
            reader = Background(src.read, 100)
            wait_until(lambda: src.connected)
        else:
            src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", keepalive_idle=7)
            peer = accept(listener)
            reader = None
        sock = src._sock
        assert sock is not None
        assert keepalive_of(sock) in ((1, 7), (1, None))
        peer.close()
        if reader is not None:
            assert reader.result() == b""
        src.close()


def test_keepalive_can_be_turned_off() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", keepalive_idle=None)
        with accept(listener):
            assert src._sock is not None
            assert keepalive_of(src._sock)[0] == 0
        src.close()


# -- no wait without a bound, no frame lost to a late connection ------------------------


def syn_sent_to(port: int) -> bool:
    """True while a connection attempt to ``port`` waits for the handshake (Linux)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "02" and int(fields[2].rsplit(":", 1)[1], 16) == port:
            return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_an_unanswered_connection_attempt_is_bounded() -> None:
    """A sender whose host drops the handshake (here: a full accept queue) must not hold
    the source in one attempt for the system's SYN retries (next one 3 s after the first)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)  # fills the queue
    try:
        src = TcpSource(
            f"tcp://127.0.0.1:{port}",
            reconnect=True,
            connect_timeout=0.2,
            initial_backoff=0.05,
            max_backoff=0.1,
            timeout=TIMEOUT,
        )
        reader = Background(read_source, src, None, 1)
        wait_until(lambda: syn_sent_to(port))
        # the sender's host stays unreachable for 1.2 s (past the first SYN retry at 1 s)
        threading.Event().wait(1.2)
        accept(listener).close()  # the queue has room again
        back = time.monotonic()
        conn = accept(listener)
        reached = time.monotonic() - back
        with conn:
            conn.sendall(frame_bytes(5))
        assert seqs(reader.result()) == [5]
        src.close()
    finally:
        filler.close()
        listener.close()
    assert reached < 1.0


def test_reconnecting_source_connects_at_construction() -> None:
    """A listening sender broadcasts each frame to the readers connected at that moment
    (spt3g's behaviour): a frame processed after the reader was built must reach it."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        src = TcpSource(f"tcp://127.0.0.1:{port}", reconnect=True, timeout=TIMEOUT)
        # the sender processes a frame: it takes the connections already made, without waiting
        listener.setblocking(False)
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            pytest.fail("no connection was made when the source was built: the frame is lost")
        with conn:
            conn.setblocking(True)
            conn.sendall(frame_bytes(0))
        assert seqs(read_source(src, None, 1)) == [0]
        src.close()


def test_reconnecting_source_built_before_its_sender_waits_for_it() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = TcpSource(
        f"tcp://127.0.0.1:{port}", reconnect=True, initial_backoff=0.01, max_backoff=0.05
    )  # nothing listens yet: not an error
    assert src.statistics().state is SourceState.CONNECTING
    reader = Background(read_source, src, None, 1)
    with socket.create_server(("127.0.0.1", port)) as listener, accept(listener) as conn:
        conn.sendall(frame_bytes(3))
        assert seqs(reader.result()) == [3]
    src.close()


def test_reader_counts_frames_an_outage_cut_in_half() -> None:
    """Never lost in silence: the frame cut by an outage is a counter a monitor can read."""
    reader = G3Reader("tcp://*:0", reconnect=True, timeout=TIMEOUT, n_frames_to_read=2)
    assert reader.port is not None
    with socket.create_connection(("127.0.0.1", reader.port), timeout=TIMEOUT) as first:
        first.sendall(frame_bytes(0) + frame_bytes(1)[:25])
    collector = Background(list, reader)
    wait_until(lambda: reader.statistics().outages == 1)  # type: ignore[union-attr]
    with socket.create_connection(("127.0.0.1", reader.port), timeout=TIMEOUT) as second:
        second.sendall(frame_bytes(2))
        assert seqs(collector.result()) == [0, 2]
    stats = reader.statistics()
    assert stats is not None
    assert stats.partial_frames_discarded == 1 and stats.reconnects == 1
    reader.close()
