"""Short TCP connections of a known size, for portkit top's accuracy test.

    shortconn.py server PORT REQ REP
        Listens on every address at PORT; on each connection reads REQ
        bytes, answers REP bytes and closes. Prints "ready" once it listens,
        then serves until stdin closes (at most 120 s), and prints one JSON
        line: {"conns", "rx", "tx"} as the server counted them.

    shortconn.py client HOST PORT RATE SECONDS REQ REP [THREADS]
        Opens RATE connections a second for SECONDS (paced, over THREADS
        threads, default 4): each sends REQ bytes, reads the REP-byte answer
        to its end and closes, so it lives well under a millisecond on a
        veth. Prints one JSON line: {"conns", "tx", "rx", "errors", "start",
        "end"} (start and end: epoch seconds), the bytes it actually moved.

Every loop is bounded by a count and a deadline.
"""
import json
import selectors
import socket
import sys
import threading
import time


def server(port, req, rep):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("0.0.0.0", port))
    lst.listen(4096)
    lst.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lst, selectors.EVENT_READ, None)
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    answer = b"r" * rep
    totals = {"conns": 0, "rx": 0, "tx": 0}
    print("ready", flush=True)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        for key, ev in sel.select(timeout=1):
            if key.data == "stdin":
                if not sys.stdin.readline():
                    print(json.dumps(totals), flush=True)
                    return
            elif key.data is None:
                for _ in range(64):                 # what the backlog holds now
                    try:
                        c, _ = lst.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, {"got": 0, "out": b""})
            else:
                c, st = key.fileobj, key.data
                done = False
                try:
                    if st["got"] < req:
                        d = c.recv(req - st["got"])
                        if not d:
                            done = True             # the client went early
                        st["got"] += len(d)
                        totals["rx"] += len(d)
                        if st["got"] == req:
                            st["out"] = answer
                    if st["out"]:
                        n = c.send(st["out"])
                        totals["tx"] += n
                        st["out"] = st["out"][n:]
                        if st["out"]:
                            sel.modify(c, selectors.EVENT_WRITE, st)
                        else:
                            totals["conns"] += 1
                            done = True
                except BlockingIOError:
                    pass
                except OSError:
                    done = True
                if done:
                    sel.unregister(c)
                    c.close()
    print(json.dumps(totals), flush=True)


def client(host, port, rate, seconds, req, rep, threads):
    request = b"q" * req
    totals = {"conns": 0, "tx": 0, "rx": 0, "errors": 0}
    lock = threading.Lock()
    t0 = time.time() + 0.05
    stop = t0 + seconds

    def worker(k):
        tx = rx = conns = errors = 0
        per = rate / threads
        for i in range(int(per * seconds) + 1):
            due = t0 + (i + k / threads) / per
            now = time.time()
            if now >= stop or due >= stop:
                break
            if due > now:
                time.sleep(due - now)      # pacing, not a readiness wait
            try:
                with socket.create_connection((host, port), timeout=5) as s:
                    s.sendall(request)
                    tx += req
                    got = 0
                    for _ in range(rep + 1):      # ends at EOF; a byte a read at worst
                        d = s.recv(65536)
                        if not d:
                            break
                        got += len(d)
                    rx += got
                    if got != rep:
                        errors += 1
                    conns += 1
            except OSError:
                errors += 1
        with lock:
            for k2, v in (("tx", tx), ("rx", rx), ("conns", conns), ("errors", errors)):
                totals[k2] += v

    ws = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join(seconds + 60)
    totals["start"], totals["end"] = t0, time.time()
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "server":
        server(int(a[1]), int(a[2]), int(a[3]))
    else:
        client(a[1], int(a[2]), float(a[3]), float(a[4]), int(a[5]), int(a[6]),
               int(a[7]) if len(a) > 7 else 4)
