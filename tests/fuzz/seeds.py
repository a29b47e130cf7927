#!/usr/bin/env python3
"""The fuzz harnesses' seeds, from the project's bad-input corpora.

    seeds.py SRCDIR BUILDDIR OUTDIR

Writes OUTDIR/NAME/ for each harness of tests/fuzz/ (NAME as in
fuzz_NAME.c), each case a file in that harness's input format (see the
head of its fuzz_NAME.c): the lines of tests/data/*.txt, the example
guests and mkbadelf's damaged copies of hello (tests/data/bad-elf.txt),
FAT images made by mkfs.fat and mcopy (when they are installed), and
messages, ring entries and hypercalls of the kinds the integration tests'
hostile guests and tenders send.
"""
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

src, build, out = sys.argv[1:4]
counts = {}


def seed(name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
    counts[name] = counts.get(name, 0) + 1


def corpus(path):
    """The " | "-separated fields of each line of a tests/data file."""
    with open(os.path.join(src, "tests/data", path), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                yield [x.strip() for x in line.split(" | ")]


def unescape(s):
    r"""\xHH as a byte and \\ as a backslash (xen-values.txt's INPUT)."""
    return re.sub(rb"\\x([0-9a-fA-F]{2})|\\\\",
                  lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\",
                  s.encode())


def rep(s):
    """spec-values.txt's <rep N TEXT>, nested ones too."""
    while True:
        m = re.search(r"<rep (\d+) ((?:(?!<rep )[^>])*)>", s)
        if not m:
            return s
        s = s[:m.start()] + m.group(2) * min(int(m.group(1)), 5000) + s[m.end():]


# ---- spec: deploy bodies ----
for f in corpus("spec-values.txt"):
    if f[0] in ("spec", "parsed"):
        seed("spec", rep(f[1]))
placeholders = {"@HELLO@": "/srv/hello.kvm", "@DATAFILE@": "/srv/data.txt",
                "@ZEROSHA@": "0" * 64, "@IDLESHA@": "ab" * 32, "@ODDFILE@": "/srv/odd"}
for f in corpus("api-bad-input.txt"):
    if len(f) > 4 and f[4] != "-" and not f[4].startswith("@big"):
        body = f[4]
        for k, v in placeholders.items():
            body = body.replace(k, v)
        seed("spec", body)

# ---- config: the shipped file, its settings set, test_config.sh's and test_auth's cases ----
with open(os.path.join(src, "contrib/shoald.conf.in"), encoding="utf-8") as f:
    conf = re.sub(r"@[a-z]+@", "/usr", f.read())
seed("config", conf)
seed("config", re.sub(r"(?m)^#([a-z-]+ = )", r"\1", conf))
with open(os.path.join(src, "tests/integration/test_config.sh"), encoding="utf-8") as f:
    for m in re.finditer(r"^refused \"[^\"]*\" '[^']*' '([^']*)'(.*)$", f.read(), re.M):
        text = m.group(1).replace("\\n", "\n")
        for opt in re.findall(r"--([a-z-]+)=(\S+)", m.group(2)):
            text += "%s = %s\n" % opt
        seed("config", text)
for f in corpus("auth-config.txt"):
    opts = f[1].replace("TLS=", "--tls-cert=/etc/shoal/srv.pem --tls-key=/etc/shoal/srv.key")
    opts = opts.replace("TOK=", "--token-file=/etc/shoal/tokens").replace("@PORT@", "8443")
    opts = opts.replace("@DIR@", "/etc/shoal")
    seed("config", "".join("%s = %s\n" % o for o in re.findall(r"--([a-z-]+)=(\S+)", opts)))

# ---- image: the example guests of every platform, and the bad-image corpus ----
examples = os.path.join(build, "unikernel-rt/examples")
for g in ("hello", "idle", "crash"):
    for plat in ("kvm", "proc", "xen-pv", "xen-pvh"):
        p = os.path.join(examples, "%s.%s" % (g, plat))
        if os.path.exists(p):
            with open(p, "rb") as f:
                seed("image", f.read())
mkbadelf = os.path.join(build, "tests/integration/mkbadelf")
hello = os.path.join(examples, "hello.kvm")
if os.path.exists(mkbadelf) and os.path.exists(hello):
    with tempfile.TemporaryDirectory() as tmp:
        for f in corpus("bad-elf.txt"):
            bad = os.path.join(tmp, "bad")
            if subprocess.run([mkbadelf, hello, bad, f[1]], capture_output=True).returncode == 0:
                with open(bad, "rb") as g:
                    seed("image", g.read())

# ---- xenstore: one byte for the value's kind (fuzz_xenstore.c's enum kind), then it ----
K = {"port": 0, "u64": 1, "reason": 2, "exit": 3, "cmdline": 4, "ipv4": 6, "ipv4p": 7,
     "mac": 8, "path": 9, "name": 10}
for f in corpus("xen-values.txt"):
    kind, val = f[0], f[1] if len(f) > 1 else ""
    if kind == "cmdline":
        seed("xenstore", bytes([K[kind]]) + b"\0".join(unescape(a.strip()) for a in val.split(" ^ ")))
    elif kind == "exit":
        # "END CODE REASON" in the corpus; here end, the code's length, code, reason.
        parts = val.split(" ", 2) + ["", ""]
        code = unescape(parts[1]) if parts[1] != "-" else b""
        seed("xenstore", bytes([K[kind], len(parts[0]) % 8, len(code)]) + code + unescape(parts[2]))
    elif kind in K:
        seed("xenstore", bytes([K[kind]]) + unescape(val))
for f in corpus("xen-front-values.txt"):
    kind, val = f[0], f[1] if len(f) > 1 else ""
    if kind.startswith("u64:"):
        seed("xenstore", bytes([5]) + struct.pack(">Q", int(kind[4:])) + unescape(val))
    elif kind in K:
        seed("xenstore", bytes([K[kind]]) + unescape(val))

# ---- tokens: an Authorization header line, then the token file ----
good = "0123456789abcdef0123456789abcdef"
for header in ("Bearer " + good, "bearer\t" + good + "=", "Basic abc", "Bearer short", ""):
    seed("tokens", header + "\n" + good + " ci\n# a comment\n\n" + "f" * 64 + " deploy\r\n")
for bad in ("short\n", good + "!\n", good + "\n" + good + "\n", "# only a comment\n", "",
            "x" * 600 + "\n", good + "\tname with spaces\n"):
    seed("tokens", "Bearer " + good + "\n" + bad)

# ---- vmm_proto: one byte for the message (fuzz_vmm_proto.c's enum kind), then it ----
for rec in (b"status 0\nreason guest exited with code 0\nconsole bytes",
            b"status 255\nreason \n", b"status -1\nreason x\n", b"status 1\nreasonx\n",
            b"status 12345678901234567\nreason x\n", b"status 7\nreason no newline"):
    seed("vmm_proto", b"\0" + rec)
for name, ro in ((b"www", 1), (b"data_1", 0), (b"-bad", 0), (b"a" * 32, 0), (b"x", 2)):
    seed("vmm_proto", b"\1" + struct.pack("<II32sII", 10, 1, name, ro, 0))
for mtu, ip, gw, plen, pps in ((0, 0, 0, 0, 0), (1500, 0x0a4d0002, 0x0a4d0001, 24, 1000),
                               (9001, 0x7f000001, 0, 8, 0), (576, 0x0a000001, 0x0b000001, 8, 10**9)):
    seed("vmm_proto", b"\2" + struct.pack("<II32s16s6sHIIII QQ".replace(" ", ""), 11, 1, b"lan",
                                          b"sh-web.0", b"\x02\0\0\0\0\1", mtu,
                                          ip, gw, plen, 0, pps, 0))
for args, argc in ((b"", 1), (b"--port=8080\0-v\0", 3), (b"a\0b", 3), (b"\0\0", 3), (b"x\0", 1)):
    seed("vmm_proto", b"\3" + struct.pack("<II64sQQIIII", 2, 1, b"web", 1, 0, 0, argc, len(args), 0) + args)
for n in (0, 1, 4, 8):
    seed("vmm_proto", b"\4" + bytes([n]) + struct.pack("<II", 1, 1) + b"\0" * 56)
for ws, report in ((0xcb00, b"shoal-proc: web: bad system call openat\n"), (9, b""),
                   (0x0100, b"partial line, no newline"), (0xcb00, b"a\nb\n\x01\xff" + b"z" * 600)):
    seed("vmm_proto", b"\5" + struct.pack("<i", ws) + report)

# ---- kvm_backend: a counters' page (0) or a tender's message (1); see fuzz_kvm_backend.c ----
def stats_page(devs, magic=0x5441545348534d56, version=1, ndevs=None):
    # vmm_proto.h's struct vmm_stats: magic, version, ndevs, then 136-byte devices.
    page = bytearray(4096)
    struct.pack_into("<QII", page, 0, magic, version, len(devs) if ndevs is None else ndevs)
    for i, (kind, name, c) in enumerate(devs):
        struct.pack_into("<32sI", page, 16 + 136 * i, name, kind)
        struct.pack_into("<12Q", page, 16 + 136 * i + 40, *(c + [0] * (12 - len(c))))
    return bytes(page)
for pg in (stats_page([(1, b"www", [5, 0, 0, 4096]), (2, b"lan", [1, 60, 0, 0, 0, 2, 120])]),
           stats_page([(1, b"a" * 32, [1]), (2, b"Bad Name", [1]), (7, b"x", [1]), (1, b"", [])]),
           stats_page([], ndevs=17), stats_page([(1, b"www", [1])], version=2)):
    seed("kvm_backend", b"\0" + pg)
SPAWNING, READY, BOOTING, RUNNING = range(4)
ready = struct.pack("<IIIIQI8I", 1, 1, 1234, 1235, 64 << 20, 1, 1, 0, 0, 0, 0, 0, 0, 0)
started = struct.pack("<IIQQQ", 3, 1, 10**18, 0x100000, 48000)
exited = struct.pack("<IIiI512s", 4, 1, 0, 0, b"guest exited with code 0")
for state, nfds, msg in ((SPAWNING, 2, ready), (SPAWNING, 3, ready), (RUNNING, 2, ready),
                         (BOOTING, 1, started), (RUNNING, 0, started), (BOOTING, 1, started[:20]),
                         (RUNNING, 0, exited), (BOOTING, 0, struct.pack("<II", 5, 1) + exited[8:]),
                         (RUNNING, 0, exited[:100]), (RUNNING, 0, struct.pack("<II", 4, 2) + exited[8:]),
                         (RUNNING, 4, struct.pack("<II", 99, 1)), (RUNNING, 0, b"\1\0"),
                         (SPAWNING, 8, ready + b"x" * 1000)):
    seed("kvm_backend", bytes([1, state, nfds]) + msg)

# ---- hypercall: number, argument address, then guest memory from 0 ----
mem = bytearray(0x3000)
struct.pack_into("<QIIQQ", mem, 0x100, 0x1000, 2, 0, 0, 0)  # console: iov at 0x1000, 2 of them
struct.pack_into("<QQQQ", mem, 0x1000, 0x2000, 6, 0x2010, 5)
mem[0x2000:0x2006] = b"hello "
mem[0x2010:0x2015] = b"world"
seed("hypercall", struct.pack("<BI", 1, 0x100) + bytes(mem))
seed("hypercall", struct.pack("<BI", 1, 0x100) + bytes(mem[:0x1008]))
seed("hypercall", struct.pack("<BIi", 2, 0, 3))
seed("hypercall", struct.pack("<BI", 3, 0x10) + b"\0" * 16 + struct.pack("<QQ", 0x40, 12) + b"\0" * 32 + b"out of cheese")
seed("hypercall", struct.pack("<BI", 4, 0) + struct.pack("<QQQQQ", 14, 2, 0xdead, 0x100000, 0x1000))
seed("hypercall", struct.pack("<BI", 5, 8) + b"\0" * 8 + struct.pack("<IiQ", 0, 0, 0x100000))
seed("hypercall", struct.pack("<BI", 9, 0xfffffff0))

# ---- rings: a disk's ring (0) or a NIC's (1); see fuzz_rings.c ----
PAGE = 4096
def blk_ring(reqs, prod=None):
    # struct blkif_sring: req_prod, req_event, rsp_prod, rsp_event, 48 bytes of pad, then
    # 32 entries of 112 bytes (blkif_request_t: op, nr_segments, handle, id, sector, 11 segments).
    ring = bytearray(PAGE)
    struct.pack_into("<IIII", ring, 0, len(reqs) if prod is None else prod, 1, 0, 1)
    for i, (op, nseg, sector, segs) in enumerate(reqs):
        off = 64 + 112 * i
        struct.pack_into("<BBHQQ", ring, off, op, nseg, 0, i, sector)
        for j, (gref, first, last) in enumerate(segs):
            struct.pack_into("<IBBH", ring, off + 24 + 8 * j, gref, first, last, 0)
    return bytes(ring)
page = (0x100000 // PAGE) + 1
seed("rings", b"\0\0" + blk_ring([(0, 1, 0, [(page, 0, 7)]), (1, 2, 8, [(page, 0, 7), (page + 1, 0, 0)])]))
seed("rings", b"\0\1" + blk_ring([(1, 1, 0, [(page, 0, 7)]), (3, 0, 0, []), (0, 12, 0, [])]))
seed("rings", b"\0\0" + blk_ring([(0, 1, 200, [(page, 0, 7)]), (0, 1, 0, [(999999, 0, 7)]),
                                 (0, 1, 0, [(page, 7, 0)])]))
seed("rings", b"\0\0" + blk_ring([], prod=1000))
def net_rings(tx, rx, prod_tx=None):
    # netif_tx_sring: indices, then 256 entries of 12 bytes (gref, offset, flags, id, size);
    # netif_rx_sring on the next page: 8-byte entries (id, pad, gref).
    t, r = bytearray(PAGE), bytearray(PAGE)
    struct.pack_into("<IIII", t, 0, len(tx) if prod_tx is None else prod_tx, 1, 0, 1)
    for i, (gref, off, flags, size) in enumerate(tx):
        struct.pack_into("<IHHHH", t, 64 + 12 * i, gref, off, flags, i, size)
    struct.pack_into("<IIII", r, 0, len(rx), 1, 0, 1)
    for i, gref in enumerate(rx):
        struct.pack_into("<HHI", r, 64 + 8 * i, i, 0, gref)
    return bytes(t + r)
frame = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"x" * 50
seed("rings", b"\1\0\0\1" + struct.pack("<H", len(frame)) + frame +
     net_rings([(page + 1, 0, 0, 64)], [page + 2, page + 3]))
seed("rings", b"\1\1\2\2" + struct.pack("<H", len(frame)) + frame + struct.pack("<H", 3) + b"abc" +
     net_rings([(page + 1, 0, 1, 64), (page + 1, 0, 0, 64), (page + 1, 4000, 0, 200)], [page + 2]))
seed("rings", b"\1\0\0\0" + net_rings([(99999999, 0, 0, 64), (page + 1, 0, 0, 9)], [99999999], prod_tx=300))

# ---- dns: a piece size (0: all at once), then what PowerDNS writes on dns-socket ----
# The requests of PowerDNS's remote backend for the harness's registry (web,
# shop with www.example.org, off, lazy in guests.example), and the bad ones
# tests/integration/test_dns.sh sends.
def lookup(qname, qtype):
    return ('{"method":"lookup","parameters":{"qtype":"%s","qname":"%s","remote":"192.0.2.24",'
            '"local":"192.0.2.1","real-remote":"192.0.2.24/24","zone-id":-1}}' % (qtype, qname))
dns = ['{"method":"initialize","parameters":{"command":"unix","path":"/run/shoal/dns.sock",'
       '"timeout":"2000"}}',
       lookup("web.guests.example.", "A"), lookup("WEB.Guests.Example", "ANY"),
       lookup("guests.example.", "SOA"), lookup("guests.example.", "NS"),
       lookup("www.example.org.", "ANY"), lookup("shop.guests.example.", "A"),
       lookup("lazy.guests.example.", "A"), lookup("off.guests.example.", "A"),
       lookup("nosuch.guests.example.", "A"), lookup("example.com.", "SOA"),
       '{"method":"list","parameters":{"zonename":"guests.example.","domain_id":1}}',
       '{"method":"list","parameters":{"zonename":"www.example.org.","domain_id":2}}',
       '{"method":"getAllDomains","parameters":{"include_disabled":true}}',
       '{"method":"getDomainInfo","parameters":{"name":"guests.example."}}',
       '{"method":"getDomainInfo","parameters":{"name":"nosuch.example."}}',
       '{"method":"getAllDomainMetadata","parameters":{"name":"guests.example."}}',
       '{"method":"getDomainMetadata","parameters":{"name":"guests.example.","kind":"PRESIGNED"}}',
       '{"method":"getDomainKeys","parameters":{"name":"guests.example."}}',
       '{"method":"getTSIGKey","parameters":{"name":"k"}}',
       '{"method":"getBeforeAndAfterNamesAbsolute","parameters":{"id":1,"qname":"web"}}',
       # bad ones
       'this is not JSON', '{"method":"frobnicate","parameters":{}}', '[1,2]',
       '{"method":"lookup","parameters":{"qname":7,"qtype":"A"}}',
       '{"method":"lookup","parameters":{"qname":"web.guests.example.","qtype":"AAAAAAAAAAAAAAAAAA"}}',
       '{"method":"lookup","parameters":[]}', '{"method":7}', '{"parameters":{}}',
       '{"method":"lookup","method":"list"}', lookup("a" * 260 + ".", "A"),
       '{"method":"lookup","parameters":{"qname":"web\\u0000.guests.example.","qtype":"A"}}',
       '{"method":"list","parameters":{}}', '{"method":"getDomainInfo","parameters":{"name":null}}',
       '{"method":', '']
for line in dns:
    seed("dns", b"\0" + line.encode() + b"\n")
for piece in (0, 1, 7, 64):
    seed("dns", bytes([piece]) + "\r\n".join(dns).encode() + b"\n")

# ---- tls: tls-cert's file, a NUL, tls-key's file; made by openssl ----
openssl = shutil.which("openssl")
if openssl:
    with tempfile.TemporaryDirectory() as tmp:
        def ossl(*args):
            subprocess.run([openssl] + list(args), cwd=tmp, capture_output=True, check=True)

        def read(name):
            with open(os.path.join(tmp, name), "rb") as f:
                return f.read()

        def selfsigned(name, *keyargs):
            ossl("req", "-x509", "-newkey", *keyargs, "-nodes", "-subj", "/CN=" + name, "-days", "30",
                 "-keyout", name + ".key", "-out", name + ".crt")
            return read(name + ".crt"), read(name + ".key")

        try:
            pairs = {"ec": selfsigned("ec", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
                     "ed": selfsigned("ed", "ed25519"),
                     "rsa": selfsigned("rsa", "rsa:2048")}
            # A chain: a leaf the EC key's certificate signed, then that one.
            ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=leaf",
                 "-keyout", "leaf.key", "-out", "leaf.csr")
            ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ec.crt", "-CAkey", "ec.key", "-set_serial", "2",
                 "-days", "30", "-out", "leaf.crt")
            pairs["chain"] = (read("leaf.crt") + pairs["ec"][0], read("leaf.key"))
            # Expired (openssl ca sets the dates), with openssl's text before the PEM.
            os.makedirs(os.path.join(tmp, "db"))
            open(os.path.join(tmp, "db/index.txt"), "w").close()
            with open(os.path.join(tmp, "db/serial"), "w") as f:
                f.write("01\n")
            with open(os.path.join(tmp, "ca.cnf"), "w") as f:
                f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=db/index.txt\nnew_certs_dir=db\nserial=db/serial\n"
                        "default_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n")
            ossl("ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "leaf.key", "-in", "leaf.csr",
                 "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-out", "old.crt")
            pairs["expired"] = (read("old.crt"), read("leaf.key"))
            ossl("pkey", "-in", "ec.key", "-aes256", "-passout", "pass:x", "-out", "enc.key")
            encrypted = read("enc.key")
        except (subprocess.CalledProcessError, OSError) as e:
            print("seeds: openssl could not make the TLS seeds (%s): the tls harness starts with fewer" % e)
            pairs, encrypted = {}, b""
    for crt, key in pairs.values():
        seed("tls", crt + b"\0" + key)
    if pairs:
        ec, rsa = pairs.get("ec"), pairs.get("rsa")
        seed("tls", ec[0] + b"\0" + rsa[1])                        # a pair that does not match
        seed("tls", ec[0] + b"\0" + encrypted)                     # an encrypted key
        seed("tls", ec[0] * 17 + b"\0" + ec[1])                    # 17 certificates
        seed("tls", ec[0] + b"\0" + ec[0])                         # a certificate as the key
        seed("tls", ec[1] + b"\0" + ec[1])                         # a key as the certificate
        seed("tls", ec[0])                                         # no key
        seed("tls", ec[0][:len(ec[0]) // 2] + b"\0" + ec[1])       # cut short
        seed("tls", ec[0].replace(b"\n", b"\r\n") + b"\0" + ec[1])
        body = bytearray(ec[0])
        body[100] ^= 0x20                                          # one bad base64 character
        seed("tls", bytes(body) + b"\0" + ec[1])
        seed("tls", b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n\0" + ec[1])
else:
    print("seeds: no openssl: the tls harness starts with no seed")
seed("tls", b"not a certificate\0not a key")

# ---- fat: images made by mkfs.fat and mcopy, trailing zeros left off ----
mkfs, mcopy = shutil.which("mkfs.fat") or shutil.which("mkfs.vfat"), shutil.which("mcopy")
if mkfs and mcopy:
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "tree")
        os.makedirs(os.path.join(tree, "DIR/sub"))
        for p, data in (("index.html", b"<h1>hi</h1>\n"), ("DIR/a long name.txt", b"a" * 3000),
                        ("DIR/sub/empty", b""), ("big.bin", bytes(range(256)) * 40)):
            with open(os.path.join(tree, p), "wb") as f:
                f.write(data)
        for args, kib in (("-F 12 -s 1", 1440), ("-F 16 -s 4", 16384), ("-F 32 -s 1 -f 1", 34000),
                          ("-F 16 -S 4096 -s 1", 16384)):
            img = os.path.join(tmp, "img")
            if os.path.exists(img):
                os.unlink(img)
            r = subprocess.run([mkfs, "-C"] + args.split() + [img, str(kib)], capture_output=True)
            if r.returncode != 0:
                continue
            env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
            subprocess.run([mcopy, "-s", "-i", img] + [os.path.join(tree, x) for x in os.listdir(tree)]
                           + ["::"], capture_output=True, env=env)
            with open(img, "rb") as f:
                seed("fat", f.read().rstrip(b"\0"))
else:
    print("seeds: no mkfs.fat or mcopy (dosfstools, mtools): the FAT harness starts with no seed")

print("seeds: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
