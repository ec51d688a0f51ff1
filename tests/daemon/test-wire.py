#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A client of liveupdated written from luo-wire(7) alone.

Nothing here comes from libluo or luo's headers: the constants, layouts and
rules are the ones the man page states, so this test fails when the page
and the daemon disagree.  It starts a private daemon ($LIVEUPDATED) on a
socket in a directory of its own, opens the device, creates a session,
preserves a memfd, asks GET_NAME and STATUS, checks the framing and
handshake rules, hands the session over and takes the memfd back.
"""
import array
import errno
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile

# luo-wire(7): "The open handshake", "Limits", "Request codes".
LUO_WIRE_OPEN = 0x4C554F00
LUO_WIRE_VERSION = 1
MODE_DEVICE, MODE_CONTROL = 1, 2
MAX_ARG, MAX_EXTRA = 4096, 32768
REP_MAX = 16 + MAX_ARG + MAX_EXTRA

CREATE_SESSION, RETRIEVE_SESSION = 0xBA00, 0xBA01
STATUS, LIST = 0xBA80, 0xBA81
PRESERVE_FD, RETRIEVE_FD, FINISH, GET_NAME = 0xBA40, 0xBA41, 0xBA42, 0xBA43
HANDOVER, LAST_ERROR = 0xBA81, 0xBA82

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("check failed: " + what, file=sys.stderr)


def check_eq(got, want, what):
    check(got == want, "%s: %r, expected %r" % (what, got, want))


class Reply:
    def __init__(self, result, out, extra, fds):
        self.result, self.out, self.extra, self.fds = result, out, extra, fds


def send(sock, cmd, arg, fd=None):
    anc = []
    if fd is not None:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
    sock.sendmsg([struct.pack("II", cmd, len(arg)) + arg], anc)


def receive(sock):
    data, anc, _, _ = sock.recvmsg(REP_MAX, socket.CMSG_SPACE(8 * 4),
                                   socket.MSG_CMSG_CLOEXEC)
    if not data:
        return None
    res, n, extra_len, reserved = struct.unpack_from("iIII", data)
    check_eq(reserved, 0, "reply reserved")
    check_eq(len(data), 16 + n + extra_len, "reply length")
    check(-4095 <= res <= 0, "result %d in range" % res)
    fds = []
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += array.array("i", payload[:len(payload) - len(payload) % 4])
    return Reply(res, data[16:16 + n], data[16 + n:], fds)


def call(sock, cmd, arg, fd=None):
    send(sock, cmd, arg, fd)
    rep = receive(sock)
    check(rep is not None, "a reply to 0x%x" % cmd)
    return rep


def connect(path, mode):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    # "Peer credentials": root or our own uid listens, nobody else.
    pid, uid, gid = struct.unpack("3i", s.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    check(uid in (0, os.geteuid()), "listener uid %d" % uid)
    rep = call(s, LUO_WIRE_OPEN, struct.pack("IIII", 16, mode,
                                             LUO_WIRE_VERSION, 0))
    return s, rep


def name64(name):
    return name.encode().ljust(64, b"\0")


def create_arg(name):
    return struct.pack("Ii64s", 72, -1, name64(name))


def test_handshake(path):
    dev, rep = connect(path, MODE_DEVICE)
    check_eq(rep.result, 0, "device open")
    check_eq(len(rep.out), 16, "handshake copy-back")
    size, mode, version, reserved = struct.unpack("IIII", rep.out)
    check_eq(version, LUO_WIRE_VERSION, "the daemon's wire version")
    check_eq(rep.fds, [], "no fd with the handshake")

    # One device connection per uid at a time; an error closes it.
    again, rep = connect(path, MODE_DEVICE)
    check_eq(rep.result, -errno.EBUSY, "second device open")
    check(receive(again) is None, "closed after a failed handshake")
    again.close()

    bad = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    bad.connect(path)
    rep = call(bad, LUO_WIRE_OPEN, struct.pack("IIII", 16, 3, 1, 0))
    check_eq(rep.result, -errno.EINVAL, "unknown mode")
    bad.close()
    return dev


def test_session(dev, path):
    rep = call(dev, CREATE_SESSION, create_arg("wire-py"))
    check_eq(rep.result, 0, "CREATE_SESSION")
    check_eq(len(rep.out), 72, "CREATE_SESSION copy-back")
    check_eq(struct.unpack_from("i", rep.out, 4)[0], -1, "fd on the wire")
    check_eq(len(rep.fds), 1, "one session fd")
    session = socket.socket(fileno=rep.fds[0])
    check_eq(session.type, socket.SOCK_SEQPACKET, "session fd type")

    rep = call(dev, CREATE_SESSION, create_arg("wire-py"))
    check_eq(rep.result, -errno.EEXIST, "same name again")
    check_eq((rep.out, rep.fds), (b"", []), "nothing with an error")

    mem = os.memfd_create("wire-py")
    os.write(mem, b"hello, wire")
    rep = call(session, PRESERVE_FD, struct.pack("IiQ", 16, -1, 0x1234), mem)
    check_eq(rep.result, 0, "PRESERVE_FD")
    rep = call(session, PRESERVE_FD, struct.pack("IiQ", 16, mem, 0x99))
    check_eq(rep.result, -errno.EBADF, "PRESERVE_FD without an fd")
    rep = call(session, LAST_ERROR, struct.pack("IiQ128s", 144, 0, 0, b""))
    check_eq(rep.result, 0, "LAST_ERROR")
    err = struct.unpack_from("i", rep.out, 4)[0]
    token = struct.unpack_from("Q", rep.out, 8)[0]
    check_eq((err, token), (errno.EBADF, 0x99), "LAST_ERROR record")

    rep = call(session, GET_NAME, struct.pack("II64s", 72, 0, b""))
    check_eq(rep.result, 0, "GET_NAME")
    check_eq(rep.out[8:].split(b"\0")[0], b"wire-py", "GET_NAME name")

    rep = call(dev, STATUS, struct.pack("I156x", 160))
    check_eq(rep.result, 0, "STATUS")
    check_eq(len(rep.out), 160, "STATUS copy-back")
    (size, flags, update, nr_out, nr_in, nr_files, pid) = \
        struct.unpack_from("IIQIIQI", rep.out)
    check_eq((nr_out, nr_in, nr_files), (1, 0, 1), "STATUS counts")
    check(flags & 1, "STATUS: the device is held")
    check_eq(update, 1, "STATUS update number")
    version = rep.out[56:88].split(b"\0")[0]
    check(len(version) > 0, "STATUS version")
    return session, mem, pid


def test_rules(dev, path):
    ctl, rep = connect(path, MODE_CONTROL)
    check_eq(rep.result, 0, "control open")
    # A shorter, older STATUS struct: the bytes its size covers.
    rep = call(ctl, STATUS, struct.pack("I84x", 88))
    check_eq((rep.result, len(rep.out)), (0, 88), "STATUS of 88 bytes")
    rep = call(ctl, CREATE_SESSION, create_arg("no"))
    check_eq(rep.result, -errno.EPERM, "CREATE_SESSION on control")

    rep = call(dev, 0xBA7F, struct.pack("I", 4))
    check_eq(rep.result, -errno.EINVAL, "unknown nr")
    rep = call(dev, 0x0048BA80, struct.pack("I156x", 160))
    check_eq(rep.result, -errno.ENOTTY, "known nr, other code")
    rep = call(dev, STATUS, b"\x08\x00")
    check_eq(rep.result, -errno.EFAULT, "no size word")
    rep = call(dev, STATUS, struct.pack("I", 8))
    check_eq(rep.result, -errno.EINVAL, "size below the struct")
    rep = call(dev, STATUS, struct.pack("I156xI", 164, 1))
    check_eq(rep.result, -errno.E2BIG, "non-zero past the struct")
    fd = os.open("/", os.O_RDONLY)
    rep = call(dev, STATUS, struct.pack("I156x", 160), fd)
    check_eq(rep.result, -errno.EINVAL, "an fd STATUS does not take")
    os.close(fd)

    # Framing: len must match, a message is at most 8 + 4096 bytes.
    dev.sendmsg([struct.pack("II", STATUS, 200) + struct.pack("I156x", 160)])
    check_eq(receive(dev).result, -errno.EINVAL, "len mismatch")
    dev.sendmsg([struct.pack("II", STATUS, 4097) + b"\0" * 4097])
    check_eq(receive(dev).result, -errno.EMSGSIZE, "oversized message")
    ctl.close()


def test_handover(dev, session, mem):
    rep = call(session, HANDOVER, struct.pack("II", 8, 0))
    check_eq(rep.result, 0, "HANDOVER")
    session.close()
    rep = call(dev, RETRIEVE_SESSION, create_arg("wire-py"))
    check_eq((rep.result, len(rep.fds)), (0, 1), "RETRIEVE_SESSION")
    incoming = socket.socket(fileno=rep.fds[0])

    rep = call(dev, LIST, struct.pack("IIIIII", 24, 0, 0, 0, 0, 0))
    check_eq(rep.result, 0, "LIST")
    nr, done = struct.unpack_from("II", rep.out, 16)
    check_eq((nr, done, len(rep.extra)), (2, 1, 2 * 88), "LIST page")
    kind, direction, state = struct.unpack_from("BBB", rep.extra, 0)
    check_eq((kind, direction, state), (1, 2, 1), "LIST session record")
    check_eq(rep.extra[24:88].split(b"\0")[0], b"wire-py", "LIST name")
    kind, token = rep.extra[88], struct.unpack_from("Q", rep.extra, 88 + 16)[0]
    check_eq((kind, token), (2, 0x1234), "LIST file record")

    rep = call(incoming, RETRIEVE_FD, struct.pack("IiQ", 16, -1, 0x1234))
    check_eq((rep.result, len(rep.fds)), (0, 1), "RETRIEVE_FD")
    check_eq(struct.unpack_from("i", rep.out, 4)[0], -1, "fd on the wire")
    got = rep.fds[0]
    check_eq(os.pread(got, 64, 0), b"hello, wire", "the memfd's bytes")
    check_eq(os.fstat(got).st_ino, os.fstat(mem).st_ino, "the same memfd")
    check_eq(call(incoming, FINISH, struct.pack("II", 8, 0)).result, 0,
             "FINISH")
    os.close(got)
    incoming.close()


def start_daemon(directory):
    binary = os.environ.get("LIVEUPDATED")
    if not binary:
        print("LIVEUPDATED not set", file=sys.stderr)
        sys.exit(77)
    path = os.path.join(directory, "liveupdate.sock")
    r, w = os.pipe()
    proc = subprocess.Popen([binary, "--socket", path, "--ready-fd", str(w),
                             "--log-level", "notice"], pass_fds=[w])
    os.close(w)
    timeout = int(os.environ.get("LUO_TEST_TIMEOUT", "60"))
    ready, _, _ = select.select([r], [], [], timeout)
    check(ready and os.read(r, 64).startswith(b"READY=1"), "daemon ready")
    os.close(r)
    return proc, path


def parent_of(pid):
    """The parent pid of @pid, from /proc (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def main():
    with tempfile.TemporaryDirectory(prefix="luo-wire-") as directory:
        proc, path = start_daemon(directory)
        try:
            dev = test_handshake(path)
            session, mem, pid = test_session(dev, path)
            # The engine answers: the vault's child (the default).
            check_eq(parent_of(pid), proc.pid, "STATUS pid's parent")
            test_rules(dev, path)
            test_handover(dev, session, mem)
            dev.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            check_eq(proc.wait(timeout=60), 0, "daemon exit status")
    if failures:
        print("test-wire: %d checks failed" % failures, file=sys.stderr)
        return 1
    print("test-wire: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
