#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the hand-made seed corpora of fuzz-core, fuzz-wire and
fuzz-libluo-reply into fuzz/corpus/<target>/ (fuzz/README.md).  Each seed
is a small well-formed input in the target's own input format, so that the
fuzzer starts from whole life cycles rather than from nothing.  The
handover seeds are real handovers: gen-handover-seeds writes them.

Usage: fuzz/make-seeds.py [CORPUS_DIR]   (default: fuzz/corpus)
"""
import os
import struct
import sys

# ---- fuzz-core: a program of operations (fuzz-core.c) ---------------------
# Device commands by index in dev_nrs[], session commands in ses_nrs[].
CREATE, RETRIEVE, STATUS, LIST, REBOOT = range(5)
PRESERVE, RETRIEVE_FD, FINISH, GET_NAME = range(4)
NONE = 9                        # no fd: an index past the pool
MEMFD_A, MEMFD_A2, MEMFD_B, MEMFD_C, PIPE_R, PIPE_W, PIPE2_R, DEVNULL, OPATH = range(9)
# Names by index in names[]: a b c d e "" 63 'n', 7: 64 bytes unterminated.
A, B, C, D, E, EMPTY, LONG, UNTERMINATED = range(8)
# Tokens by index: 0 1 2 3 UINT64_MAX.


def dev(cmd, fields=(), fd=NONE, extra=0):
    # op, target (odd: the device), command, size (exact), fields, fd, extra
    return bytes([0, 1, cmd, 0, 0, *fields, fd, extra])


def ses(idx, cmd, fields=(), fd=NONE, extra=0):
    return bytes([0, idx << 1, cmd, 0, 0, *fields, fd, extra])


def create(name):
    return dev(CREATE, [name])


def retrieve(name):
    return dev(RETRIEVE, [name])


def preserve(idx, fd, token):
    return ses(idx, PRESERVE, [token], fd)


def retrieve_fd(idx, token):
    return ses(idx, RETRIEVE_FD, [token])


def release(idx):
    return bytes([10, idx])


FREEZE = bytes([11])
HANDOVER = bytes([12])


def knobs(preserve=0, freeze=0, retrieve=0, finish=0):
    return bytes([13, preserve | freeze << 1 | retrieve << 2 | finish << 3])


LIST_ALL = dev(LIST, [0] * 8, extra=3)

CORE = {
    'cycle': [create(A), create(B), preserve(0, MEMFD_A, 1),
              preserve(0, PIPE_R, 2), preserve(1, MEMFD_B, 1), dev(STATUS),
              LIST_ALL, ses(0, GET_NAME), HANDOVER, retrieve(A),
              retrieve_fd(0, 1), retrieve_fd(0, 2), ses(0, FINISH),
              release(0), retrieve(B), retrieve_fd(0, 1), release(0)],
    'errors': [create(EMPTY), create(UNTERMINATED), create(A), create(A),
               preserve(0, DEVNULL, 0), preserve(0, OPATH, 0),
               preserve(0, NONE, 0), preserve(0, MEMFD_A, 1),
               preserve(0, MEMFD_A2, 2), preserve(0, MEMFD_A, 1),
               retrieve_fd(0, 1), ses(0, FINISH), retrieve(A),
               dev(REBOOT, fd=DEVNULL), dev(LIST, [0] * 8, extra=0)],
    'knobs': [knobs(freeze=1), create(A), preserve(0, PIPE_R, 0), FREEZE,
              HANDOVER, knobs(finish=1), HANDOVER, retrieve(A),
              retrieve_fd(0, 0), release(0), dev(STATUS), knobs(),
              HANDOVER, LIST_ALL],
    'limits': [create(A), create(B), create(C), create(D), create(E),
               create(LONG), create(A), preserve(0, MEMFD_A, 0),
               preserve(0, MEMFD_B, 1), preserve(0, MEMFD_C, 2),
               preserve(0, PIPE_R, 3), preserve(0, PIPE2_R, 4),
               preserve(1, PIPE_W, 0), LIST_ALL, HANDOVER, LIST_ALL,
               retrieve(LONG), release(0), retrieve(A), ses(0, FINISH),
               retrieve_fd(0, 0)],
    'retrieve-fail': [create(C), preserve(0, PIPE_R, 1), HANDOVER,
                      knobs(retrieve=1), retrieve(C), retrieve_fd(0, 1),
                      knobs(), retrieve_fd(0, 1), preserve(0, PIPE_R, 2),
                      create(C), preserve(1, PIPE_R, 2), release(0)],
}

# ---- fuzz-wire: a parameter byte, then the message (fuzz-wire.c) ----------
NEW, DEVICE, CONTROL, SESSION = range(4)
FIX_LEN = 0x80
WIRE_OPEN = 0x4c554f00


def wire(conn, cmd, arg, nfds=0, extra_flags=0):
    return bytes([conn | nfds << 2 | FIX_LEN | extra_flags]) + \
        struct.pack('<II', cmd, len(arg)) + arg


def name72(name):
    return struct.pack('<Ii64s', 72, -1, name)


WIRE = {
    'open-device': wire(NEW, WIRE_OPEN, struct.pack('<IIII', 16, 1, 1, 0)),
    'open-control': wire(NEW, WIRE_OPEN, struct.pack('<IIII', 16, 2, 1, 0)),
    'open-bad-mode': wire(NEW, WIRE_OPEN, struct.pack('<IIII', 16, 3, 1, 0)),
    'create': wire(DEVICE, 0xBA00, name72(b'a')),
    'retrieve': wire(DEVICE, 0xBA01, name72(b'a')),
    'status': wire(CONTROL, 0xBA80, struct.pack('<I', 88) + bytes(84)),
    'list': wire(CONTROL, 0xBA81, struct.pack('<IIIIII', 24, 0, 0, 0, 0, 0)),
    'reboot-fd': wire(DEVICE, 0xBA82, struct.pack('<IIQ', 16, 1, 0), nfds=1),
    'control-create': wire(CONTROL, 0xBA00, name72(b'a')),
    'preserve-fd': wire(SESSION, 0xBA40, struct.pack('<IiQ', 16, -1, 1),
                        nfds=1),
    'two-fds': wire(SESSION, 0xBA40, struct.pack('<IiQ', 16, -1, 1), nfds=2),
    'get-name': wire(SESSION, 0xBA43, struct.pack('<II', 72, 0) + bytes(64)),
    'truncated': wire(DEVICE, 0xBA80, struct.pack('<I', 88) + bytes(84),
                      extra_flags=0x10),
}

# ---- fuzz-libluo-reply: call, ioctl choice, replies (fuzz-libluo-reply.c) --
C_IOCTL, C_LIST, C_STATUS, C_CREATE, C_GET_NAME, C_REBOOT = range(6)
FIX = 0x04


def reply(result, copy, extra=b'', fds=0, fix=False):
    msg = struct.pack('<iIII', result, len(copy), len(extra), 0) + copy + extra
    return bytes([fds | (FIX if fix else 0)]) + struct.pack('<H', len(msg)) + msg


def record(kind, name, token=0, nr_files=0):
    return struct.pack('<BBBBiIIQ64s', kind, 1, 0, 0, 0, nr_files, 0, token,
                       name)


LUO_LIST_PAGE = struct.pack('<IIIIII', 24, 0, 2, 0, 2, 1)

REPLY = {
    # luo_ioctl(CREATE_SESSION) with a 72-byte struct: b = cmd 0, size idx 3
    'ioctl-create': bytes([C_IOCTL, 0x30]) + reply(0, name72(b'a'), fds=1),
    'ioctl-create-nofd': bytes([C_IOCTL, 0x30]) + reply(0, name72(b'a')),
    'ioctl-error': bytes([C_IOCTL, 0x30]) + reply(-2, b''),
    'ioctl-status': bytes([C_IOCTL, 0x56]) +
    reply(0, struct.pack('<I', 4096) + bytes(84)),
    'list': bytes([C_LIST, 0]) +
    reply(0, LUO_LIST_PAGE, record(1, b'a', nr_files=1) +
          record(2, b'memfd-v2', token=7)),
    'list-two-pages': bytes([C_LIST, 0]) +
    reply(0, struct.pack('<IIIIII', 24, 0, 1, 0, 1, 0),
          record(1, b'a')) +
    reply(0, struct.pack('<IIIIII', 24, 0, 2, 0, 1, 1), record(1, b'b')),
    'status': bytes([C_STATUS, 0]) +
    reply(0, struct.pack('<IIQIIQ', 88, 0, 1, 0, 0, 0) + bytes(56)),
    'create': bytes([C_CREATE, 0]) + reply(0, name72(b'fuzz'), fds=1),
    'create-two-fds': bytes([C_CREATE, 0]) + reply(0, name72(b'fuzz'), fds=2),
    'get-name': bytes([C_GET_NAME, 0]) +
    reply(0, struct.pack('<II64s', 72, 0, b'session')),
    'reboot': bytes([C_REBOOT, 0]) + reply(0, struct.pack('<IIQ', 16, 0, 2)),
    'short': bytes([C_STATUS, 0, 0, 3, 0, 1, 2, 3]),
}


def write(root, target, seeds):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        if isinstance(data, list):
            data = b''.join(data)
        with open(os.path.join(d, 'seed-' + name), 'wb') as f:
            f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    write(root, 'fuzz-core', CORE)
    write(root, 'fuzz-wire', WIRE)
    write(root, 'fuzz-libluo-reply', REPLY)


if __name__ == '__main__':
    main()
