/**
 * The user-space uplink relay (python3, standard library only), run by {@link UplinkRelay} inside a
 * NAT namespace when the kernel has no `netem` qdisc. It creates two TAP devices (L2, `IFF_TAP |
 * IFF_NO_PI`), so that one can be a port of the internet bridge once moved into that namespace,
 * and copies every Ethernet frame from one to the other, delayed and dropped as configured.
 *
 * argv: `<up-tap> <down-tap> <seed> <queue-cap>`. "up" is the direction read from the first tap
 * (the NAT's `wan`) and written to the second (its bridge port); "down" the reverse.
 *
 * stdin, one command per line, each answered with one line on stdout:
 * - `set <up|down|both> <delayMs> <jitterMs> <lossPercent> <reorderPercent>` → `ok` (or `err …`)
 * - `stats` → one JSON object `{"up":{…},"down":{…},"queued":n}` with per-direction counters
 *   `frames` (read), `lost` (dropped by the loss setting), `overflow` (dropped: queue full),
 *   `sent` (written), `writeErrors`.
 * It prints `ready` once both taps exist and exits when stdin closes (its owner died).
 *
 * Semantics follow netem (man tc-netem): each frame waits `delay ± jitter` (uniform, never
 * negative); `reorder` % of frames are sent at once instead (which reorders them); `loss` % are
 * dropped. Loss applies to IPv4 / IPv6 frames only; ARP and other L2 frames are delayed but never
 * dropped, so neighbour resolution does not add whole seconds of retry to a lossy test. Randomness
 * comes from one seeded generator, so a run with the same traffic drops the same frames.
 */
export const UPLINK_RELAY_SCRIPT = String.raw`
import os, sys, fcntl, struct, select, heapq, random, time, json, errno
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
def tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd
up = tap(sys.argv[1])
down = tap(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
cap = int(sys.argv[4])
out = {up: down, down: up}
name = {up: 'up', down: 'down'}
conf = {up: [0.0, 0.0, 0.0, 0.0], down: [0.0, 0.0, 0.0, 0.0]}
def counters():
    return {'frames': 0, 'lost': 0, 'overflow': 0, 'sent': 0, 'writeErrors': 0}
stats = {up: counters(), down: counters()}
heap = []
seq = 0
cmd = b''
IP_TYPES = (b'\x08\x00', b'\x86\xdd')
def reply(text):
    sys.stdout.write(text + '\n')
    sys.stdout.flush()
def command(line):
    parts = line.decode('ascii', 'replace').split()
    if parts == ['stats']:
        reply(json.dumps({'up': stats[up], 'down': stats[down], 'queued': len(heap)}))
        return
    if len(parts) == 6 and parts[0] == 'set' and parts[1] in ('up', 'down', 'both'):
        try:
            d, j, l, r = (float(x) for x in parts[2:])
        except ValueError:
            reply('err bad number')
            return
        value = [d / 1000.0, j / 1000.0, l / 100.0, r / 100.0]
        for fd in (up, down):
            if parts[1] in ('both', name[fd]):
                conf[fd] = list(value)
        reply('ok')
        return
    reply('err unknown command')
def send(fd, frame):
    s = stats[fd]
    try:
        os.write(out[fd], frame)
        s['sent'] += 1
    except OSError:
        s['writeErrors'] += 1
reply('ready')
while True:
    timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else None
    ready, _, _ = select.select([up, down, 0], [], [], timeout)
    for fd in ready:
        if fd == 0:
            data = os.read(0, 4096)
            if not data:
                sys.exit(0)
            cmd += data
            while b'\n' in cmd:
                line, cmd = cmd.split(b'\n', 1)
                command(line)
            continue
        for _ in range(64):
            try:
                frame = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EAGAIN:
                    break
                sys.exit(0)
            s = stats[fd]
            s['frames'] += 1
            delay, jitter, loss, reorder = conf[fd]
            if loss > 0 and frame[12:14] in IP_TYPES and rng.random() < loss:
                s['lost'] += 1
                continue
            if delay <= 0 or (reorder > 0 and rng.random() < reorder):
                send(fd, frame)
                continue
            if len(heap) >= cap:
                s['overflow'] += 1
                continue
            wait = delay + (rng.uniform(-jitter, jitter) if jitter > 0 else 0.0)
            heapq.heappush(heap, (time.monotonic() + max(0.0, wait), seq, fd, frame))
            seq += 1
    now = time.monotonic()
    while heap and heap[0][0] <= now:
        _, _, fd, frame = heapq.heappop(heap)
        send(fd, frame)
`;
