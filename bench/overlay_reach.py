#!/usr/bin/env python3
"""Parts 2 and 3 of bench/overlay.sh (which builds the hosts and calls this).

Reachability: a new container joins overlay "ov" on host 2 while a client
container on host 1 (c1) waits. From the moment `cnm net connect` returns,
either the client tries TCP handshakes with it back to back ("handshake":
what an application sees, ARP included), or host 1's neighbour table is
polled until the peer's entry is there ("programmed": when the etcd watch
reached host 1's kernel). Trials alternate between the two.

Connect latency: `cnm net connect` + `disconnect` of fresh namespaces on
host 1, overlay and local bridge interleaved (CLI start-up included in both).
"""

import argparse
import ctypes
import os
import select
import socket
import statistics
import subprocess
import time

PORT = 7777


def netns_fd(name):
    return os.open(f"/run/netns/{name}", os.O_RDONLY)


LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def enter(fd):
    # Sockets belong to the namespace of the thread that made them
    # (os.setns is Python 3.12+; libc's works everywhere).
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def handshake_ms(ip, t0, limit=5.0):
    """Back-to-back TCP connects to ip:PORT until one completes."""
    while time.monotonic() - t0 < limit:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((ip, PORT))
        _, w, _ = select.select([], [s], [], 0.01)
        ok = bool(w) and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        s.close()
        if ok:
            return (time.monotonic() - t0) * 1000
        if not w:
            continue
        time.sleep(0.001)  # refused or unreachable: retry
    raise SystemExit(f"{ip} not reachable {limit} s after connect returned")


def neigh_monitor(host_ns):
    """`ip monitor neigh` on host 1, started before the connect so that
    reading its events costs no process start-up."""
    mon = subprocess.Popen(["ip", "-n", host_ns, "monitor", "neigh"],
                           stdout=subprocess.PIPE)
    time.sleep(0.1)  # subscribed before the connect
    return mon


def programmed_ms(mon, ip, t0, limit=5.0):
    """Waits for the peer's permanent entry in host 1's neighbour table.
    Reads the raw pipe: a buffered reader would hide lines from select."""
    fd, pending = mon.stdout.fileno(), b""
    try:
        while time.monotonic() - t0 < limit:
            r, _, _ = select.select([fd], [], [], limit)
            if not r:
                break
            pending += os.read(fd, 65536)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.startswith(ip.encode() + b" ") and b"PERMANENT" in line:
                    return (time.monotonic() - t0) * 1000
        raise SystemExit(f"{ip} not in host 1's neighbour table {limit} s after connect")
    finally:
        mon.kill()
        mon.wait()


def summary(name, ms):
    ms = sorted(ms)
    return (f"  {name:<11} median {statistics.median(ms):7.1f} ms   "
            f"p90 {ms[int(len(ms) * 0.9) - 1 if len(ms) >= 10 else -1]:7.1f}   "
            f"max {ms[-1]:7.1f}   (n={len(ms)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnm", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--reach", type=int, default=20)
    ap.add_argument("--connects", type=int, default=50)
    a = ap.parse_args()
    p = a.prefix

    def cnm(host, *args):
        run(a.cnm, "-H", f"unix://{a.work}/h{host}/run/cnmd.sock", *args)

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    c1 = netns_fd(f"{p}-c1")

    handshake, programmed = [], []
    for k in range(1, a.reach + 1):
        ns, ip = f"{p}-r{k}", f"10.91.1.{k}"
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        fd = netns_fd(ns)
        enter(fd)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("0.0.0.0", PORT))
        listener.listen(64)
        enter(c1)
        mon = None if k % 2 else neigh_monitor(f"{p}-h1")
        cnm(2, "net", "connect", "ov", "--netns", f"/run/netns/{ns}", "--name", f"r{k}", "--ip", ip)
        t0 = time.monotonic()
        if k % 2:
            handshake.append(handshake_ms(ip, t0))
        else:
            programmed.append(programmed_ms(mon, ip, t0))
        enter(home)
        listener.close()
        os.close(fd)
        cnm(2, "net", "disconnect", "ov", f"r{k}")
        run("ip", "netns", "del", ns)

    print(f"new remote endpoint, time after `cnm net connect` returned on host 2")
    print(summary("handshake", handshake), " all:", " ".join(f"{m:.1f}" for m in handshake))
    print(summary("programmed", programmed))

    lat = {"overlay": [], "bridge": []}
    disc = {"overlay": [], "bridge": []}
    for k in range(a.connects):
        for kind, net in (("overlay", "ov"), ("bridge", "lb")):
            ns = f"{p}-l{k}"
            run("ip", "netns", "add", ns)
            t = time.monotonic()
            cnm(1, "net", "connect", net, "--netns", f"/run/netns/{ns}", "--name", f"l{k}")
            lat[kind].append((time.monotonic() - t) * 1000)
            t = time.monotonic()
            cnm(1, "net", "disconnect", net, f"l{k}")
            disc[kind].append((time.monotonic() - t) * 1000)
            run("ip", "netns", "del", ns)
    print("connect / disconnect on host 1 (cnm CLI round trip)")
    for kind in ("overlay", "bridge"):
        print(summary(f"{kind} +", lat[kind]))
        print(summary(f"{kind} -", disc[kind]))
    print(f"  overlay/bridge connect = "
          f"{statistics.median(lat['overlay']) / statistics.median(lat['bridge']):.2f}")


if __name__ == "__main__":
    main()
