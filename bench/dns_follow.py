#!/usr/bin/env python3
"""How long after `cnm net connect` / `disconnect` returns the embedded DNS
answers for the new name / stops answering (issue target: 100 ms).

cnmd runs in a throwaway "host" namespace with its own state; one client
namespace sits on user-defined network `n1` and asks the network's DNS
(the gateway, port 53) every millisecond until the answer changes. Each
round connects a fresh namespace under a new name, times until its A record
is served, disconnects it and times until the name is NXDOMAIN: first as
lone changes, then back to back (cnmd then writes at most one snapshot per
15 ms window, so a change may wait for the rest of the window).

Usage (root): bench/dns_follow.py [ROUNDS]     env: CNM_BIN=<dir with cnmd, cnm, cnm-dns>
(default: the static release build via dev/release). Only namespaces and
processes this script creates are touched; they go at exit.
"""

import ctypes
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = f"cnmbdf-{os.getpid()}"
SUBNET, GATEWAY = "10.199.0.0/24", "10.199.0.1"
TARGET_MS = 100.0
CLONE_NEWNET = 0x40000000


def release_bin():
    env_bin = os.environ.get("CNM_BIN")
    if env_bin:
        return env_bin
    out = subprocess.run(
        [f"{REPO}/dev/release", "-p", "cnm-daemon", "-p", "cnm-cli", "-p", "cnm-dns"],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    return out.stdout.strip()


def netns_add(name):
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return f"/run/netns/{name}"


def enter_netns(path):
    """Moves this process into the namespace at `path` (python 3.11 has no
    os.setns). The cnm CLI still reaches cnmd: its socket is a path."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {path}")
    os.close(fd)


def query(name):
    """A DNS query for `name`'s A record, with a random id."""
    qid = random.randrange(1 << 16)
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return qid, header + labels + b"\x00" + struct.pack(">HH", 1, 1)


def ask(sock, name):
    """(rcode, answer count) from the network's DNS, or None on no reply."""
    qid, packet = query(name)
    sock.sendto(packet, (GATEWAY, 53))
    try:
        while True:
            reply = sock.recv(512)
            if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid:
                flags, _, ancount = struct.unpack(">HHH", reply[2:8])
                return flags & 0xF, ancount
    except socket.timeout:
        return None


def wait_for(sock, name, done, limit_s=5.0):
    """Milliseconds from now until `done(ask(sock, name))` holds."""
    start = time.perf_counter()
    while True:
        if done(ask(sock, name)):
            return (time.perf_counter() - start) * 1000.0
        if time.perf_counter() - start > limit_s:
            raise SystemExit(f"{name}: no change within {limit_s} s")
        time.sleep(0.001)


def summary(label, samples):
    s = sorted(samples)
    p90 = s[int(0.9 * (len(s) - 1))]
    med = statistics.median(s)
    print(f"  {label:<11} median {med:6.1f}  p90 {p90:6.1f}  max {s[-1]:6.1f}  "
          f"({med / TARGET_MS:.3f}x of the {TARGET_MS:.0f} ms target, n={len(s)})")


def main():
    bin_dir = release_bin()
    work = tempfile.mkdtemp(prefix="cnm-bench-dns-follow.")
    names = []
    daemon = None
    try:
        host = netns_add(f"{PREFIX}-host")
        names.append(f"{PREFIX}-host")
        log = open(f"{work}/cnmd.log", "w")
        daemon = subprocess.Popen(
            ["nsenter", f"--net={host}", "--", f"{bin_dir}/cnmd", "--root", f"{work}/root",
             "--run-root", f"{work}/run", "--log-level", "warn"],
            stdout=log, stderr=log,
        )
        sock_path = f"unix://{work}/run/cnmd.sock"

        def cnm(*args):
            subprocess.run([f"{bin_dir}/cnm", "-H", sock_path, *args], check=True,
                           stdout=subprocess.DEVNULL)

        deadline = time.time() + 10
        while subprocess.run([f"{bin_dir}/cnm", "-H", sock_path, "version"],
                             capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise SystemExit(f"cnmd did not start; see {work}/cnmd.log")
            time.sleep(0.05)
        cnm("net", "create", "--subnet", SUBNET, "n1")
        client = netns_add(f"{PREFIX}-client")
        names.append(f"{PREFIX}-client")
        cnm("net", "connect", "n1", "--netns", client, "--name", "client")
        paths = []
        for i in range(ROUNDS):
            paths.append(netns_add(f"{PREFIX}-w{i}"))
            names.append(f"{PREFIX}-w{i}")

        enter_netns(client)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.05)
        wait_for(sock, "client", lambda r: r is not None and r[1] > 0)

        print("DNS record follows the change, ms after the CLI returned "
              "(polled every ~1 ms from a container on the network):")
        for pause_ms, label in ((100, "lone changes (100 ms apart)"),
                                (0, "back to back (each right after the last was seen)")):
            appear, vanish = [], []
            for i, path in enumerate(paths):
                name = f"w{i}"
                time.sleep(pause_ms / 1000.0)
                cnm("net", "connect", "n1", "--netns", path, "--name", name)
                appear.append(wait_for(sock, name, lambda r: r is not None and r[1] > 0))
                time.sleep(pause_ms / 1000.0)
                cnm("net", "disconnect", "n1", "--netns", path)
                vanish.append(wait_for(sock, name, lambda r: r is not None and r[0] == 3))
            print(f" {label}:")
            summary("connect", appear)
            summary("disconnect", vanish)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait()
        for name in names:
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
