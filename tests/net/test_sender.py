"""G3NetworkSender on real loopback sockets: ordering, replay, queues, shutdown."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    S,
    T,
    connect_client,
    decode_all,
    free_port,
    make_frame,
    recv_all,
    seqs,
    small_buffer_listener,
    types,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.codec.decoder import FrameDecoder
from g3stream.net import (
    G3ConnectionLostError,
    G3ConnectionRefusedError,
    G3HostUnresolvableError,
    G3NetworkSender,
)
from g3stream.net.client import MAX_BATCH_BYTES
from g3stream.net.fanout import ClientStatistics

END = G3FrameType.EndProcessing
W, C, H = G3FrameType.Wiring, G3FrameType.Calibration, G3FrameType.Housekeeping


def listen(senders: list[G3NetworkSender], **options: object) -> G3NetworkSender:
    sender = G3NetworkSender("*", 0, **options)  # type: ignore[arg-type]
    senders.append(sender)
    return sender


def g3_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("g3-")]


def test_listen_sends_every_frame_in_order_byte_exact(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    assert sender.listening and sender.port > 0
    client = Background(recv_all, connect_client(sender.port))
    frames = [make_frame(T if i % 3 else H, i, 100) for i in range(50)]
    for frame in frames:
        assert sender(frame) == [frame]
    end = G3Frame(END)
    assert sender(end) == [end]
    data = client.result()
    assert data == b"".join(bytes(f.encoded()) for f in frames)  # EndProcessing not sent
    assert seqs(decode_all(data)) == list(range(50))


def test_ipv6_client(senders: list[G3NetworkSender]) -> None:
    try:
        sock = connect_client(listen(senders).port, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    sender = senders[-1]
    client = Background(recv_all, sock)
    sender(make_frame(T, 1))
    sender.Close()
    assert seqs(decode_all(client.result())) == [1]


def test_client_connected_before_a_frame_receives_it(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    clients = []
    for i in range(20):
        sock = connect_client(sender.port)  # connection complete; not yet accepted
        sender(make_frame(T, i))
        clients.append((i, Background(recv_all, sock)))
    sender(G3Frame(END))
    for i, client in clients:
        assert seqs(decode_all(client.result())) == list(range(i, 20))


def test_late_client_gets_metadata_replay_then_live_frames(
    senders: list[G3NetworkSender],
) -> None:
    sender = listen(senders)
    adhoc = G3FrameType("Ab")
    history = [(W, 1), (C, 2), (T, 3), (H, 4), (C, 5), (S, 6), (adhoc, 7), (W, 8)]
    for frame_type, seq in history:
        sender(make_frame(frame_type, seq))
    replay = [make_frame(W, 8), make_frame(C, 5), make_frame(H, 4), make_frame(adhoc, 7)]
    expected_replay = b"".join(bytes(f.encoded()) for f in replay)

    # No frame passes while the client connects: it is accepted in the background
    # and receives the replay at once.
    sock = connect_client(sender.port)
    wait_until(lambda: sender.statistics().connected_clients == 1)
    got = b""
    while len(got) < len(expected_replay):
        chunk = sock.recv(len(expected_replay) - len(got))
        assert chunk
        got += chunk
    assert got == expected_replay
    replayed = decode_all(got)
    assert seqs(replayed) == [8, 5, 4, 7]
    assert types(replayed) == [W, C, H, 0x4162]  # the ad-hoc type counts as metadata

    client = Background(recv_all, sock)
    sender(make_frame(T, 9))
    sender(make_frame(C, 10))
    sender(G3Frame(END))
    assert seqs(decode_all(client.result())) == [9, 10]


def test_max_queue_size_drops_only_data_frames(senders: list[G3NetworkSender]) -> None:
    max_queue = 5
    sender = listen(senders, max_queue_size=max_queue, close_timeout=TIMEOUT)
    slow = connect_client(sender.port, rcvbuf=4096)  # never reads until the end
    sent_data, sent_meta = [], []
    metadata_so_far = 0
    data_size = len(make_frame(T, 0, 8192).encoded())
    for i in range(300):
        if i % 50 == 0:
            frame = make_frame(C, i)
            sent_meta.append(i)
            metadata_so_far += 1
        else:
            frame = make_frame(T if i % 2 else S, i, 8192)
            sent_data.append(i)
        assert sender(frame) == [frame]  # a tee: dropped or not, it passes on
        stats = sender.statistics()
        (client_stats,) = stats.clients.values()
        # Memory stays bounded: max_queue_size data frames waiting, metadata,
        # and at most one batch of frames already being written to the socket.
        waiting_bound = (max_queue + metadata_so_far) * data_size
        assert client_stats.queue_bytes <= waiting_bound + MAX_BATCH_BYTES
    dropped = sender.statistics().clients
    (client_stats,) = dropped.values()
    assert client_stats.frames_dropped > 0
    reader = Background(recv_all, slow)
    sender(G3Frame(END))
    got = decode_all(reader.result())
    got_meta = [f["seq"] for f in got if f.type == C]
    got_data = [f["seq"] for f in got if f.type != C]
    assert got_meta == sent_meta
    assert got_data == sorted(got_data) and set(got_data) <= set(sent_data)
    stats = sender.statistics()
    assert len(got_data) + stats.frames_dropped == len(sent_data)
    assert stats.frames_dropped == client_stats.frames_dropped
    assert stats.frames_sent == len(got)


def test_byte_cap_disconnects_slow_client_only(
    senders: list[G3NetworkSender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="g3stream.net")
    sender = listen(senders, max_pending_bytes=1 << 20)
    slow = connect_client(sender.port, rcvbuf=4096)
    fast_sock = connect_client(sender.port)
    fast_peer = f"127.0.0.1:{fast_sock.getsockname()[1]}"
    fast = Background(recv_all, fast_sock)
    frames = [make_frame(T, i, 8192) for i in range(200)]  # 13 MB in all

    def fast_client_caught_up() -> bool:
        client = sender.statistics().clients.get(fast_peer)
        return client is None or client.queue_frames == 0

    for frame in frames:
        sender(frame)
        # Pace the stream by the fast client (a real DAQ is paced by its hardware).
        wait_until(fast_client_caught_up)
    wait_until(lambda: sender.statistics().clients_overflowed == 1)
    sender(G3Frame(END))
    assert seqs(decode_all(fast.result())) == list(range(200))
    stats = sender.statistics()
    assert stats.clients_overflowed == 1 and stats.connected_clients == 0
    assert any("too slow" in r.getMessage() for r in caplog.records)
    slow.close()


def test_connect_mode_slow_reader_bounded_and_lossless() -> None:
    bound = 256 << 10
    n = 2000
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], max_pending_bytes=bound)
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        frame_size = len(make_frame(T, 0, 1024).encoded())
        peak = [0]

        def produce() -> None:
            for i in range(n):
                sender(make_frame(T, i, 1024))
                peak[0] = max(peak[0], sender.statistics().queue_bytes)
            sender(G3Frame(END))

        producer = Background(produce)
        # The reader does not read yet: the pipeline must stop at the bound.
        wait_until(lambda: sender.statistics().queue_bytes >= bound - frame_size)
        assert not producer.done.is_set()
        assert sender.statistics().queue_bytes <= bound
        got = recv_all(conn)  # now read everything, in small pieces
        producer.result()
    frames = decode_all(got)
    assert seqs(frames) == list(range(n))  # zero loss, order kept
    assert peak[0] <= bound
    assert sender.statistics().frames_dropped == 0


def test_connect_mode_max_queue_size_drops_like_spt3g() -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], max_queue_size=2)
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        for i in range(200):
            sender(make_frame(T, i, 8192))
        sender(make_frame(W, 999))
        reader = Background(recv_all, conn)
        sender.close_timeout = TIMEOUT
        sender(G3Frame(END))
        got = decode_all(reader.result())
    assert seqs(got)[-1] == 999
    assert 0 < sender.statistics().frames_dropped == 200 - (len(got) - 1)


def test_connect_mode_errors_name_host_and_port() -> None:
    port = free_port()
    with pytest.raises(G3ConnectionRefusedError, match=f"127.0.0.1:{port}"):
        G3NetworkSender("127.0.0.1", port)
    with pytest.raises(G3HostUnresolvableError, match="no-such-host.invalid"):
        G3NetworkSender("no-such-host.invalid", 4536)


def test_connect_mode_lost_peer_is_reported() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1])
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # reset
        with pytest.raises(G3ConnectionLostError, match="127.0.0.1"):
            for i in range(10_000):
                sender(make_frame(T, i, 1000))
        sender.Close()


def test_killed_client_does_not_affect_others(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    victim = connect_client(sender.port)
    survivor = Background(recv_all, connect_client(sender.port))
    for i in range(100):
        sender(make_frame(T, i, 4096))
        if i == 10:
            # Killed mid-stream: abort the connection with a reset.
            victim.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            victim.close()
    wait_until(lambda: sender.statistics().clients_lost == 1)
    sender(G3Frame(END))
    assert seqs(decode_all(survivor.result())) == list(range(100))


def test_bytes_sent_by_clients_are_ignored(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    sock = connect_client(sender.port)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 200_000)
    client = Background(recv_all, sock)
    for i in range(20):
        sender(make_frame(T, i, 100))
    sender(G3Frame(END))
    assert seqs(decode_all(client.result())) == list(range(20))


def test_shutdown_deadline_with_client_that_never_reads(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders, close_timeout=0.3)
    stuck = connect_client(sender.port, rcvbuf=4096)
    for i in range(100):
        sender(make_frame(T, i, 8192))  # 6.5 MB: far more than the socket buffers
    start = time.monotonic()
    sender(G3Frame(END))
    elapsed = time.monotonic() - start
    assert elapsed < 0.3 + 5.0
    assert sender.closed
    assert not g3_threads()
    assert sender.statistics().frames_dropped > 0
    stuck.settimeout(TIMEOUT)
    with pytest.raises(OSError):
        while stuck.recv(1 << 20):  # the connection was cut: EOF or reset
            pass
        raise ConnectionResetError
    stuck.close()


def test_close_is_idempotent_and_then_passes_frames(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    client = Background(recv_all, connect_client(sender.port))
    sender(make_frame(T, 1))
    sender.Close()
    sender.Close()
    frame = make_frame(T, 2)
    assert sender(frame) == [frame]
    assert seqs(decode_all(client.result())) == [1]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sender.port), timeout=TIMEOUT)
    assert not g3_threads()


def test_max_clients_refuses_extra_connections(
    senders: list[G3NetworkSender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="g3stream.net")
    sender = listen(senders, max_clients=1)
    first = Background(recv_all, connect_client(sender.port))
    wait_until(lambda: sender.statistics().connected_clients == 1)
    extra = connect_client(sender.port)
    assert extra.recv(10) == b""  # closed at once
    extra.close()
    sender(make_frame(T, 1))
    sender(G3Frame(END))
    assert seqs(decode_all(first.result())) == [1]
    assert sender.statistics().clients_refused == 1
    assert any("max_clients" in r.getMessage() for r in caplog.records)


def test_statistics_per_client_and_totals(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders)
    sock = connect_client(sender.port)
    frames = [make_frame(T, i, 10) for i in range(5)]
    for frame in frames:
        sender(frame)
    size = sum(len(f.encoded()) for f in frames)
    wait_until(lambda: sender.statistics().bytes_sent == size)
    stats = sender.statistics()
    peer = f"127.0.0.1:{sock.getsockname()[1]}"
    assert stats.clients == {
        peer: ClientStatistics(
            frames_sent=5, bytes_sent=size, frames_dropped=0, queue_frames=0, queue_bytes=0
        )
    }
    assert stats.connected_clients == 1 and stats.frames_sent == 5
    client = Background(recv_all, sock)
    sender.Close()
    client.result()
    stats = sender.statistics()
    assert stats.clients == {} and stats.frames_sent == 5 and stats.bytes_sent == size


def test_n_serializers_keep_order_and_pass_every_frame(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders, n_serializers=3)
    client = Background(recv_all, connect_client(sender.port))
    frames = [make_frame(T if i % 7 else C, i, 500) for i in range(300)]
    out: list[G3Frame] = []
    for frame in frames:
        out.extend(sender(frame))
    end = G3Frame(END)
    out.extend(sender(end))
    assert out == [*frames, end]
    assert seqs(decode_all(client.result())) == list(range(300))


def test_unmodified_frames_are_sent_from_their_original_bytes(
    senders: list[G3NetworkSender], vectors_dir: Path
) -> None:
    raw = (vectors_dir / "bigendian.g3").read_bytes()
    dec = FrameDecoder()
    dec.feed(raw)
    frames = dec.frames()
    sender = listen(senders)
    client = Background(recv_all, connect_client(sender.port))
    for frame in frames:
        sender(frame)
    sender.Close()
    assert client.result() == raw


def test_sigpipe_never_kills_the_process(tmp_path: Path) -> None:
    from g3net_testutil import finish, spawn_python

    code = """
import signal, socket, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # as in a C host program
from g3stream import G3Frame, G3FrameType, G3VectorDouble
from g3stream.net import G3NetworkSender
import numpy as np
s = G3NetworkSender('*', 0)
c = socket.create_connection(('127.0.0.1', s.port))
for i in range(3):
    f = G3Frame(G3FrameType.Timepoint); f['d'] = G3VectorDouble(np.zeros(100000)); s(f)
c.close()
for i in range(50):
    f = G3Frame(G3FrameType.Timepoint); f['d'] = G3VectorDouble(np.zeros(100000)); s(f)
s(G3Frame(G3FrameType.EndProcessing))
print('survived', s.statistics().clients_lost + s.statistics().connected_clients)
"""
    out, err = finish(spawn_python(code))
    assert "survived" in out, err


EXIT_SCRIPT = """
import socket, sys
from g3stream import G3Frame, G3FrameType, G3VectorDouble
from g3stream.net import G3NetworkSender
import numpy as np
sender = G3NetworkSender('*', 0, close_timeout=0.3)
print(sender.port, flush=True)
sys.stdin.readline()                     # the test's client is connected (and never reads)
for i in range(60):
    f = G3Frame(G3FrameType.Timepoint); f['d'] = G3VectorDouble(np.zeros(20000)); sender(f)
if sys.argv[1] == 'end':
    sender(G3Frame(G3FrameType.EndProcessing))
print('done', flush=True)
"""


@pytest.mark.parametrize("how", ["end", "forgotten"])
def test_process_exits_promptly_with_a_client_that_never_reads(how: str) -> None:
    from g3net_testutil import finish, spawn_python

    proc = spawn_python(EXIT_SCRIPT, how)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        port = int(proc.stdout.readline())
        stuck = connect_client(port, rcvbuf=4096)
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        start = time.monotonic()
        out, err = finish(proc, timeout=15)
        assert proc.returncode == 0, err
        assert "done" in out
        assert time.monotonic() - start < 10
        stuck.close()
    finally:
        proc.kill()


def test_bind_address_restricts_listening(senders: list[G3NetworkSender]) -> None:
    sender = listen(senders, bind_address="127.0.0.1")
    # Only 127.0.0.1 is bound: ::1 is refused (or absent on this machine).
    with pytest.raises(OSError):
        connect_client(sender.port, host="::1").close()
    client = Background(recv_all, connect_client(sender.port))
    sender(make_frame(T, 5))
    sender.Close()
    assert seqs(decode_all(client.result())) == [5]


def test_port_in_use_is_a_clear_error(senders: list[G3NetworkSender]) -> None:
    from g3stream.errors import G3ConnectionError

    sender = listen(senders)
    with pytest.raises(G3ConnectionError, match=str(sender.port)):
        G3NetworkSender("*", sender.port)


def test_frame_partly_sent_directly_then_completed_by_writer(
    senders: list[G3NetworkSender],
) -> None:
    sender = listen(senders)
    sock = connect_client(sender.port, rcvbuf=4096)
    wait_until(lambda: sender.statistics().connected_clients == 1)
    big = make_frame(T, 1, 1 << 20)  # 8 MB: more than the socket buffers take at once
    small = make_frame(T, 2, 10)
    sender(big)  # after a pause: handed to the socket by the pipeline thread
    (stats,) = sender.statistics().clients.values()
    assert 0 < stats.bytes_sent < len(big.encoded()) or stats.queue_frames == 1
    sender(small)
    client = Background(recv_all, sock)
    sender(G3Frame(END))
    assert client.result() == bytes(big.encoded()) + bytes(small.encoded())
    assert sender.statistics().frames_sent == 2


CLIENT_SCRIPT = """
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
total = 0
announced = False
while True:
    data = s.recv(1 << 16)
    if not data:
        break
    total += len(data)
    if not announced:
        print('receiving', flush=True)   # mid-stream: the test may kill us now
        announced = True
print(total, flush=True)
"""


def test_client_processes_killed_mid_stream(senders: list[G3NetworkSender]) -> None:
    from g3net_testutil import finish, spawn_python

    sender = listen(senders)
    victim = spawn_python(CLIENT_SCRIPT, str(sender.port))
    survivor = spawn_python(CLIENT_SCRIPT, str(sender.port))
    try:
        wait_until(lambda: sender.statistics().connected_clients == 2)
        frames = [make_frame(T, i, 4096) for i in range(200)]
        for frame in frames[:10]:
            sender(frame)
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == b"receiving"
        victim.kill()  # SIGKILL, mid-stream
        victim.wait(timeout=TIMEOUT)
        for frame in frames[10:]:
            assert sender(frame) == [frame]  # the pipeline does not notice
        sender(G3Frame(END))
        out, err = finish(survivor)
    finally:
        victim.kill()
        survivor.kill()
    assert int(out.split()[-1]) == sum(len(f.encoded()) for f in frames)
    stats = sender.statistics()
    assert stats.clients_lost == 1 and stats.connected_clients == 0
