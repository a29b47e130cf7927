"""
The API against its contract, api/openapi.yaml: a real shoald with real
KVM guests gets, for every path and method the contract has, requests that
should succeed and requests that must be refused, and every answer is
checked against what the contract says of that operation: the status, the
Content-Type and the body (a validator of the OpenAPI 3.0 schema subset the
file uses).  The other way round, api/routes.c's route table is read and
every route it serves must be in the contract.  Fields the server sends
that the schemas do not mention are listed as TAP diagnostics.

What the contract cannot say (guests to deploy, path parameter values,
bodies, the route table) is in tests/data/contract.yaml.  TAP output; run
by tests/integration/test_contract.sh, which finds a python3 with yaml.
"""
import hashlib
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

import yaml

SRC = os.path.abspath(os.environ.get("top_srcdir", "."))
BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
CONTRACT = os.path.join(SRC, "api/openapi.yaml")
ROUTES_C = os.path.join(SRC, "api/routes.c")
DATA_NAME = "tests/data/contract.yaml"
DATA = os.path.join(SRC, DATA_NAME)
GUESTS = os.path.join(BUILD, "unikernel-rt/examples")

STREAM_QUIET_S = 0.3  # a stream is read until it has been quiet this long
STREAM_FIRST_S = 2.0  # or, when it must send something, until it has (at most this long)
ANSWER_TIMEOUT_S = 20.0
METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"]
BOGUS = "contract-bogus"


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.todo = []  # [check description prefix, why, times seen]

    @staticmethod
    def diag(*lines):
        for line in lines:
            for part in str(line).splitlines() or [""]:
                print("# " + part)

    def check(self, ok, desc, *diags):
        self.n += 1
        todo = None if ok else next((t for t in self.todo if desc.startswith(t[0])), None)
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, desc, " # TODO " + todo[1] if todo else ""))
        if todo:
            todo[2] += 1
        elif not ok:
            self.failed += 1
        if not ok:
            self.diag(*diags)
        sys.stdout.flush()
        return ok

    def skip(self, desc, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, why))

    def done(self):
        print("1..%d" % self.n)


tap = Tap()

# ---------------------------------------------------------------- the contract

SCHEMA_KEYWORDS = {
    "type", "properties", "required", "items", "enum", "nullable", "allOf", "anyOf", "oneOf",
    "additionalProperties", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "pattern", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "multipleOf", "$ref",
    # annotations, nothing to check
    "description", "example", "default", "title", "readOnly", "writeOnly", "deprecated",
}
DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def child(path, key):
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        return "%s.%s" % (path, key)
    return "%s[%s]" % (path, json.dumps(key))


def shown(v):
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


class Contract:
    def __init__(self, doc):
        self.doc = doc

    def pointer(self, ref):
        if not ref.startswith("#/"):
            raise KeyError("only local $refs are followed, not %s" % ref)
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise KeyError("%s does not resolve (no %s)" % (ref, part))
            node = node[part]
        return node

    def deref(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"])
            seen += 1
            if seen > 32:
                raise KeyError("a $ref loop")
        return node

    def refs(self, node=None, where="#"):
        """Every $ref of the file, with where it is."""
        node = self.doc if node is None else node
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield where, v
                else:
                    yield from self.refs(v, where + "/" + str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from self.refs(v, "%s/%d" % (where, i))

    def schemas(self):
        """Every schema the file holds, with where it is (not following $refs)."""
        def walk(s, where):
            if not isinstance(s, dict):
                return
            yield where, s
            for k, sub in (s.get("properties") or {}).items():
                yield from walk(sub, "%s/properties/%s" % (where, k))
            for k in ("items", "additionalProperties"):
                if isinstance(s.get(k), dict):
                    yield from walk(s[k], "%s/%s" % (where, k))
            for k in ("allOf", "anyOf", "oneOf"):
                for i, sub in enumerate(s.get(k) or []):
                    yield from walk(sub, "%s/%s/%d" % (where, k, i))

        comp = self.doc.get("components", {})
        for name, s in (comp.get("schemas") or {}).items():
            yield from walk(s, "#/components/schemas/" + name)
        for name, p in (comp.get("parameters") or {}).items():
            yield from walk(p.get("schema"), "#/components/parameters/%s/schema" % name)
        for op in self.operations():
            for p in op.params.values():
                yield from walk(p.get("schema"), "%s parameter %s" % (op.key, p["name"]))
            for mt, c in op.request_content().items():
                yield from walk(c.get("schema"), "%s request %s" % (op.key, mt))
            for status, r in op.op.get("responses", {}).items():
                for mt, c in (self.deref(r).get("content") or {}).items():
                    yield from walk(c.get("schema"), "%s %s %s" % (op.key, status, mt))

    def operations(self):
        for path, item in (self.doc.get("paths") or {}).items():
            item = self.deref(item)
            for m in METHODS:
                if m in item:
                    yield Operation(self, path, m.upper(), item, item[m])

    def path_methods(self, path):
        item = self.deref(self.doc["paths"][path])
        return {m.upper() for m in METHODS if m in item}

    # ---- the validator

    def validate(self, schema, v, path="$"):
        """None when v matches schema, else the JSON path of the first mismatch and why.

        nullable as OpenAPI 3.0.3 says: it lets null through the type beside
        it in the same schema, and reaches no further (not through allOf,
        nor a $ref to a schema that is not nullable itself)."""
        s = self.deref(schema)
        null_ok = v is None and s.get("nullable") is True and "type" in s
        for sub in s.get("allOf") or []:
            e = self.validate(sub, v, path)
            if e:
                return e
        if "anyOf" in s and all(self.validate(sub, v, path) for sub in s["anyOf"]):
            return "%s: %s matches none of its anyOf schemas" % (path, shown(v))
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if not self.validate(sub, v, path))
            if n != 1:
                return "%s: %s matches %d of its oneOf schemas, not one" % (path, shown(v), n)
        t = s.get("type")
        if t is not None and not null_ok and not JSON_TYPES[t](v):
            return "%s: %s is not %s %s" % (path, shown(v), "an" if t[0] in "aeiou" else "a", t)
        if "enum" in s and not any(type(v) is type(e) and v == e for e in s["enum"]):
            return "%s: %s is not one of %s" % (path, shown(v), s["enum"])
        if isinstance(v, str):
            return self._string(s, v, path)
        if JSON_TYPES["number"](v):
            return self._number(s, v, path)
        if isinstance(v, list):
            return self._array(s, v, path)
        if isinstance(v, dict):
            return self._object(s, v, path)
        return None

    @staticmethod
    def _string(s, v, path):
        if "pattern" in s and not re.search(s["pattern"], v):
            return "%s: %s does not match %s" % (path, shown(v), s["pattern"])
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", len(v)):
            return "%s: %s is %d characters long" % (path, shown(v), len(v))
        if s.get("format") == "date-time" and not DATE_TIME.match(v):
            return "%s: %s is not a date-time" % (path, shown(v))
        return None

    @staticmethod
    def _number(s, v, path):
        if "multipleOf" in s and v % s["multipleOf"] != 0:
            return "%s: %s is not a multiple of %s" % (path, v, s["multipleOf"])
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None and (v < lo or (v == lo and s.get("exclusiveMinimum"))):
            return "%s: %s is below the minimum %s" % (path, v, lo)
        if hi is not None and (v > hi or (v == hi and s.get("exclusiveMaximum"))):
            return "%s: %s is above the maximum %s" % (path, v, hi)
        return None

    def _array(self, s, v, path):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", len(v)):
            return "%s: has %d items" % (path, len(v))
        if s.get("uniqueItems"):
            seen = [json.dumps(item, sort_keys=True) for item in v]
            if len(set(seen)) != len(seen):
                return "%s: has an item twice (uniqueItems)" % path
        for i, item in enumerate(v):
            e = self.validate(s["items"], item, child(path, i)) if "items" in s else None
            if e:
                return e
        return None

    def _object(self, s, v, path):
        props = s.get("properties") or {}
        for name in s.get("required") or []:
            if name not in v:
                return "%s: lacks the required field %s" % (path, name)
        extra = s.get("additionalProperties", True)
        for k, val in v.items():
            if k in props:
                e = self.validate(props[k], val, child(path, k))
            elif extra is False:
                e = "%s: is not in the schema (additionalProperties: false)" % child(path, k)
            elif isinstance(extra, dict):
                e = self.validate(extra, val, child(path, k))
            else:
                e = None
            if e:
                return e
        return None

    def _flat(self, schema):
        s = self.deref(schema)
        yield s
        for sub in s.get("allOf") or []:
            yield from self._flat(sub)

    def undocumented(self, schema, v, path, out):
        """Add to out the fields of v (normalised paths) that schema does not mention."""
        if v is None:
            return
        parts = list(self._flat(schema))
        if isinstance(v, dict):
            props, extra = {}, True
            for s in parts:
                for k, sub in (s.get("properties") or {}).items():
                    props.setdefault(k, sub)
                if "additionalProperties" in s:
                    extra = s["additionalProperties"]
            for k, val in v.items():
                if k in props:
                    self.undocumented(props[k], val, child(path, k), out)
                elif isinstance(extra, dict):
                    self.undocumented(extra, val, child(path, k), out)
                elif props and extra is not False:
                    out.add(child(path, k))  # a free-form object (no properties) is meant so
        elif isinstance(v, list):
            items = next((s["items"] for s in parts if "items" in s), None)
            for item in v if items else []:
                self.undocumented(items, item, path + "[]", out)


class Operation:
    def __init__(self, contract, path, method, item, op):
        self.c = contract
        self.path = path
        self.method = method
        self.op = op
        self.key = "%s %s" % (method, path)
        self.params = {}
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            p = contract.deref(p)
            self.params[(p["in"], p["name"])] = p

    def param_schemas(self, where):
        return {name: self.c.deref(p.get("schema") or {}) for (kind, name), p in self.params.items() if kind == where}

    def request_content(self):
        body = self.c.deref(self.op.get("requestBody") or {})
        return body.get("content") or {}

    def response(self, status):
        """The documented response for an HTTP status, or None."""
        rs = {str(k).upper(): v for k, v in (self.op.get("responses") or {}).items()}
        for key in (str(status), str(status)[0] + "XX", "DEFAULT"):
            if key in rs:
                return self.c.deref(rs[key])
        return None

    def statuses(self):
        return sorted(str(k) for k in (self.op.get("responses") or {}))


# ---------------------------------------------------------------- HTTP on the unix socket

class Answer:
    def __init__(self):
        self.status = 0
        self.headers = {}
        self.body = b""
        self.streamed = False  # still open when we stopped reading

    def media_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _dechunk(data):
    """The body of a chunked answer so far, and whether it is complete."""
    out, pos = b"", 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return out, False
        size = int(data[pos:eol].split(b";")[0] or b"0", 16)
        if size == 0:
            return out, True
        if len(data) < eol + 2 + size + 2:
            return out + data[eol + 2:eol + 2 + size], False
        out += data[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2


def http(sock_path, method, target, body=b"", headers=None, want_data=False):
    """One request; a stream is read until quiet (want_data: until it has sent something, too)."""
    req = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (method, target)
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    if body or method in ("POST", "PUT", "PATCH"):
        req += "Content-Length: %d\r\n" % len(body)
    a = Answer()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(ANSWER_TIMEOUT_S)
        s.connect(sock_path)
        try:
            s.sendall(req.encode() + b"\r\n" + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the body was read: the answer is still there
        data, head_end, deadline = b"", -1, time.monotonic() + ANSWER_TIMEOUT_S
        while True:
            if head_end < 0:
                head_end = data.find(b"\r\n\r\n")
                if head_end >= 0:
                    lines = data[:head_end].decode("latin-1").split("\r\n")
                    a.status = int(lines[0].split()[1])
                    for line in lines[1:]:
                        k, _, v = line.partition(":")
                        a.headers[k.strip().lower()] = v.strip()
            if head_end >= 0:
                rest = data[head_end + 4:]
                if method == "HEAD" or a.status in (204, 304):
                    break  # no body, whatever Content-Length says
                if a.headers.get("transfer-encoding", "").lower() == "chunked":
                    a.body, complete = _dechunk(rest)
                else:
                    a.body = rest
                    n = a.headers.get("content-length")
                    complete = n is not None and len(rest) >= int(n)
                if complete:
                    break
            left = deadline - time.monotonic()
            if head_end < 0:
                wait = left
            elif want_data and not a.body.strip():
                wait = min(left, STREAM_FIRST_S)
            else:
                wait = min(left, STREAM_QUIET_S)
            if wait <= 0 or not select.select([s], [], [], wait)[0]:
                if head_end < 0:
                    raise TimeoutError("no answer in %.0f s" % ANSWER_TIMEOUT_S)
                a.streamed = True
                break
            try:
                more = s.recv(65536)
            except ConnectionResetError:
                more = b""
            if not more:
                break
            data += more
        if head_end < 0:
            raise ConnectionError("the connection closed without an answer")
    finally:
        s.close()
    return a


# ---------------------------------------------------------------- shoald and its guests

class Shoald:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="shoal-contract-")
        self.sock = os.path.join(self.tmp, "run/shoald.sock")
        self.log = os.path.join(self.tmp, "shoald.log")
        # The tender is copied so that this test's tenders (which outlive
        # shoald, in sessions of their own) are known by their executable.
        self.vmm = os.path.join(self.tmp, "shoal-vmm")
        shutil.copy(os.path.join(BUILD, "vmm/shoal-vmm"), self.vmm)
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(BUILD, "daemon/shoald"), "--config=/dev/null", "--state-dir=%s/state" % self.tmp,
                 "--run-dir=%s/run" % self.tmp, "--vmm=" + self.vmm, "--log-level=debug",
                 "--ui-dir=" + os.path.join(SRC, "api/dashboard")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for _ in range(200):
            if self.proc.poll() is not None:
                return False
            try:
                if http(self.sock, "GET", "/v1/host").status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def tenders(self):
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/exe" % pid) == self.vmm:
                    pids.append(int(pid))
            except OSError:
                pass
        return pids

    def stop(self):
        """Kill shoald and every tender of this test; True when none is left."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for _ in range(50):
            left = self.tenders()
            if not left:
                return True
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        return not self.tenders()

    def log_tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return ["shoald: " + line.rstrip() for line in f.readlines()[-n:]]
        except OSError:
            return []

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def image_path(name):
    return os.path.join(GUESTS, name + ".kvm")


# "disk": a disk image made here (whole 512-byte sectors, not a guest), for kind=disk.
DISK_BYTES = bytes(range(256)) * 256


def image_bytes(name):
    if name == "disk":
        return DISK_BYTES
    with open(image_path(name), "rb") as f:
        return f.read()


def expand(v):
    """The data file's value with its @image:, @sha: and @bytes: names replaced (NAME "disk": DISK_BYTES)."""
    if isinstance(v, dict):
        return {k: expand(x) for k, x in v.items()}
    if isinstance(v, list):
        return [expand(x) for x in v]
    if not isinstance(v, str):
        return v
    m = re.match(r"^@bytes:(\w+)$", v)
    if m:
        return image_bytes(m.group(1))
    v = re.sub(r"@image:(\w+)", lambda m: image_path(m.group(1)), v)
    return re.sub(r"@sha:(\w+)", lambda m: hashlib.sha256(image_bytes(m.group(1))).hexdigest(), v)


# ---------------------------------------------------------------- the checks

class Run:
    def __init__(self, contract, data, shoald, route_params):
        self.c = contract
        self.data = data
        self.sd = shoald
        self.route_params = route_params  # path -> the query parameters routes.c accepts there
        self.undoc = {}  # operation -> set of field paths
        self.error_schema = {"$ref": "#/components/schemas/Error"}

    # ---- one request, checked

    def request(self, op, label, target, body=b"", content_type=None, headers=None, want=None, nonempty=False,
                ends=False):
        """Send one request of op and check its answer; want is a status, or None for any 2xx;
        ends: the answer must be whole, not a stream left open."""
        hdrs = dict(headers or {})
        if content_type:
            hdrs["Content-Type"] = content_type
        label = "%s %s (%s)" % (op.method, target, label)
        try:
            a = http(self.sd.sock, op.method, target, body, hdrs, want_data=nonempty)
        except OSError as e:
            tap.check(False, label + ": answered", str(e), *self.sd.log_tail())
            return None
        self.check_answer(op, label, a, want, nonempty)
        if ends:
            tap.check(not a.streamed, label + ": the answer ends (it is not a stream left open)",
                      "still open after %.1f s of quiet; it sent: %s" % (STREAM_QUIET_S, a.body[:200]))
        return a

    def check_answer(self, op, label, a, want, nonempty):
        """want: the status, or None for any 2xx; nonempty: a stream must have sent something."""
        resp = op.response(a.status)
        wanted = 200 <= a.status < 300 if want is None else a.status == want
        wanted_text = "a 2xx" if want is None else str(want)
        error_note = [] if a.status < 400 else ["the answer: " + a.body[:300].decode("utf-8", "replace")]
        tap.check(wanted and resp is not None, "%s: status %d (wanted %s) is listed for %s"
                  % (label, a.status, wanted_text, op.key),
                  ("%s is not listed in the contract (it lists %s)" % (a.status, ", ".join(op.statuses())))
                  if resp is None else "wanted %s" % wanted_text, *error_note)
        if resp is not None:
            content = resp.get("content") or {}
        elif a.status >= 400:
            content = {"application/json": {"schema": self.error_schema}}  # still an error answer
        else:
            content = {}
        mt = a.media_type()
        if not content:
            tap.check(not a.body, "%s: no body, as documented" % label, "a %s body was sent" % (mt or "typeless"))
            return
        tap.check(mt in content, "%s: Content-Type %s is documented" % (label, mt or "(none)"),
                  "the contract documents %s" % ", ".join(content))
        if mt not in content:
            return
        schema = content[mt].get("schema") or {}
        err, values = self.check_body(mt, schema, a.body)
        if err is None and a.status >= 400 and schema != self.error_schema:
            err = next(filter(None, (self.c.validate(self.error_schema, v) for v in values)), None)
            err = err and "not an Error: " + err
        empty = (values == [[]]) if mt == "application/json" else (not values and nonempty)
        if err is None and a.status < 300 and empty:
            err = "the answer is empty: nothing in it to check against the schema"
        tap.check(err is None, "%s: the %s body matches the contract's schema" % (label, mt), err,
                  "the answer: " + a.body[:400].decode("utf-8", "replace"))
        if err is None and a.status < 400:
            for v in values:
                self.c.undocumented(schema, v, "$", self.undoc.setdefault(op.key, set()))

    def check_body(self, mt, schema, body):
        """(first mismatch or None, the JSON values checked); a stream's schema is each item's."""
        if mt == "application/json":
            docs = [body]
        elif mt == "application/x-ndjson":
            docs = [line for line in body.split(b"\n") if line.strip()]  # empty lines are pings
        elif mt == "text/event-stream":
            docs = [line[5:] for line in body.split(b"\n") if line.startswith(b"data:")]
        else:
            s = self.c.deref(schema)
            if s.get("type") == "string" and s.get("format") != "binary":
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError as e:
                    return "the text is not UTF-8: %s" % e, []
            return None, []
        values = []
        for i, doc in enumerate(docs):
            where = "$" if mt == "application/json" else "item %d: $" % (i + 1)
            try:
                v = json.loads(doc)
            except ValueError as e:
                return "%s: not JSON (%s)" % (where, e), values
            e = self.c.validate(schema, v, where)
            if e:
                return e, values
            values.append(v)
        return None, values

    # ---- what fills a request

    def overrides(self, op):
        return (self.data.get("operations") or {}).get(op.key) or {}

    def path_combos(self, op, extra=None):
        """Every set of path values the requests that should succeed use."""
        values = dict(self.data.get("path_values") or {})
        values.update(self.overrides(op).get("path") or {})
        values.update(extra or {})
        names, choices = [], []
        for name, schema in op.param_schemas("path").items():
            v = values.get(name)
            vs = list(v) if isinstance(v, list) else ([] if v is None else [v])
            vs += [e for e in schema.get("enum") or [] if e not in vs]
            if not vs:
                raise KeyError("no value for path parameter %s of %s: add it to path_values in %s"
                               % (name, op.key, DATA_NAME))
            names.append(name)
            choices.append([str(x) for x in vs])
        return [dict(zip(names, combo)) for combo in itertools.product(*choices)]

    @staticmethod
    def target(op, path_values, query):
        path = re.sub(r"\{(\w+)\}", lambda m: urllib.parse.quote(path_values[m.group(1)], safe=""), op.path)
        return path + ("?" + urllib.parse.urlencode(query) if query else "")

    def body(self, op, query=None):
        """(bytes, content type) of a body that should be accepted, or (b"", None); a body
        named for one of the query's parameters ("OP?kind=disk") comes first."""
        content = op.request_content()
        if not content:
            return b"", None
        mt = next(iter(content))
        bodies = self.data.get("bodies") or {}
        v = next((bodies["%s?%s=%s" % (op.key, k, x)] for k, x in sorted((query or {}).items())
                  if "%s?%s=%s" % (op.key, k, x) in bodies), None)
        if v is None:
            v = self.overrides(op).get("body", bodies.get(op.key, bodies.get(mt)))
        if v is None:
            v = self.example(content[mt].get("schema") or {})
            tap.diag("%s: no body in %s; sending one made from the schema: %s" % (op.key, DATA_NAME, json.dumps(v)))
        return self.encode(expand(v), mt), mt

    @staticmethod
    def encode(v, mt):
        if isinstance(v, bytes):
            return v
        if isinstance(v, str) and mt != "application/json":
            return v.encode()
        return json.dumps(v).encode()

    def example(self, schema):
        """A small value of a schema, from its defaults, examples and required fields."""
        s = self.c.deref(schema)
        for sub in s.get("allOf") or []:
            s = dict(self.c.deref(sub), **{k: v for k, v in s.items() if k != "allOf"})
        for k in ("default", "example"):
            if k in s:
                return s[k]
        if s.get("enum"):
            return s["enum"][0]
        t = s.get("type")
        if t == "object":
            props = s.get("properties") or {}
            return {k: self.example(props[k]) for k in s.get("required") or [] if k in props}
        if t == "array":
            return []
        if t in ("integer", "number"):
            return s.get("minimum", 0)
        return {"boolean": True, "string": "x"}.get(t)

    def valid_query_value(self, name, schema):
        qv = self.data.get("query_values") or {}
        if name in qv:
            return str(qv[name])
        v = self.example(schema)
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    @staticmethod
    def bad_query_values(schema):
        t = schema.get("type")
        if t == "boolean":
            return ["maybe"]
        if t == "integer":
            out = ["abc"]
            if "minimum" in schema:
                out.append(str(schema["minimum"] - 1))
            if "maximum" in schema:
                out.append(str(schema["maximum"] + 1))
            return out
        if schema.get("enum"):
            return [BOGUS]
        return []

    # ---- the phases

    def setup(self):
        for step in self.data.get("setup") or []:
            path = step["path"].partition("?")[0]
            op = next((o for o in self.c.operations() if o.method == step["method"] and o.path == path), None)
            if not tap.check(op is not None, "setup: %s %s is in the contract" % (step["method"], path)):
                continue
            mt = step.get("content_type", "application/json")
            self.request(op, "setup: " + step["what"], step["path"], self.encode(expand(step.get("body")), mt), mt,
                         want=step.get("status"))
            if "until" in step:
                self.until(step["until"])

    def until(self, u):
        got = None
        for _ in range(200):
            a = http(self.sd.sock, "GET", "/v1/guests/" + u["guest"])
            got = json.loads(a.body) if a.status == 200 else "(status %d)" % a.status
            for k in u["field"].split("."):
                got = got.get(k) if isinstance(got, dict) else None
            if got == u["value"]:
                break
            time.sleep(0.05)
        tap.check(got == u["value"], "setup: %s's %s becomes %s" % (u["guest"], u["field"], u["value"]),
                  "it is %s" % got)

    def base_query(self, op):
        """The query parameters of every request of op: query_values, and the operation's own."""
        query_schemas = op.param_schemas("query")
        query = {k: str(v) for k, v in (self.data.get("query_values") or {}).items() if k in query_schemas}
        query.update(self.overrides(op).get("query") or {})
        return query

    def successes(self, op):
        query_schemas = op.param_schemas("query")
        base_query = self.base_query(op)
        body, mt = self.body(op)
        combos = self.path_combos(op)
        want = self.overrides(op).get("status")  # None: any 2xx
        for pv in combos:
            a = self.request(op, "should succeed", self.target(op, pv, base_query), body, mt, want=want)
            if op.method == "HEAD" and a is not None:
                self.head_like_get(op, self.target(op, pv, base_query), a)
        # Every documented query parameter given a valid value, once; and each enum value.
        full = {k: self.valid_query_value(k, s) for k, s in query_schemas.items()}
        full.update(base_query)
        if set(full) - set(base_query):
            self.request(op, "every query parameter", self.target(op, combos[0], full), self.body(op, full)[0], mt)
        for k, s in query_schemas.items():
            for e in s.get("enum") or []:
                if str(e) != full[k]:
                    q = dict(full, **{k: str(e)})
                    self.request(op, "%s=%s" % (k, e), self.target(op, combos[0], q), self.body(op, q)[0], mt)
        for v in (self.data.get("variants") or {}).get(op.key) or []:
            pv = self.path_combos(op, v.get("path"))[0]
            what = ["%s=%s" % kv for kv in list((v.get("path") or {}).items()) + list((v.get("query") or {}).items())]
            what += ["%s: %s" % kv for kv in (v.get("headers") or {}).items()]
            q = v.get("query", base_query)
            self.request(op, ", ".join(what) or "no query", self.target(op, pv, q), self.body(op, q)[0], mt,
                         headers=v.get("headers"), want=v.get("status"), nonempty=v.get("nonempty", False),
                         ends=v.get("ends", False))

    def head_like_get(self, op, target, head):
        """A HEAD answer is GET's without the body: the same status, type and length."""
        label = "HEAD %s (should succeed)" % target
        try:
            get = http(self.sd.sock, "GET", target)
        except OSError as e:
            tap.check(False, label + ": GET of it answers too", str(e))
            return
        length = head.headers.get("content-length")
        tap.check(head.status == get.status and head.media_type() == get.media_type() and
                  length == str(len(get.body)),
                  label + ": the status and headers are GET's (%d, %s, Content-Length %s)"
                  % (get.status, get.media_type(), len(get.body)),
                  "HEAD: %d, %s, Content-Length %s" % (head.status, head.media_type(), length))

    def errors(self, op):
        """One request for each documented refusal the operation can be provoked into."""
        query_schemas = op.param_schemas("query")
        query = self.base_query(op)
        body, mt = self.body(op)
        pv = self.path_combos(op)[0]
        self.request(op, "unknown query parameter", self.target(op, pv, dict(query, **{BOGUS: "1"})), body, mt,
                     want=400)
        # The contract refuses unknown query parameters per operation; routes.c knows them per path.
        for k in sorted(self.route_params.get(op.path, set()) - set(query_schemas)):
            self.request(op, "%s, which %s does not document" % (k, op.method),
                         self.target(op, pv, dict(query, **{k: "1"})), body, mt, want=400)
        for k, s in query_schemas.items():
            for bad in self.bad_query_values(s):
                self.request(op, "bad %s" % k, self.target(op, pv, dict(query, **{k: bad})), body, mt, want=400)
        unknown = self.data.get("unknown_path_values") or {}
        for name, s in op.param_schemas("path").items():
            if name in unknown:
                self.request(op, "unknown %s" % name, self.target(op, dict(pv, **{name: unknown[name]}), query),
                             body, mt, want=404)
            if s.get("enum"):
                self.request(op, "%s not in its enum" % name, self.target(op, dict(pv, **{name: BOGUS}), query),
                             body, mt, want=404)
            if "pattern" in s:
                bad = next(v for v in ("Not_A_Name", "-", "x" * 300) if not re.search(s["pattern"], v))
                self.request(op, "%s against its pattern" % name, self.target(op, dict(pv, **{name: bad}), query),
                             body, mt, want=400)
        if mt:
            for bad in (self.data.get("bad_bodies") or {}).get(mt) or []:
                self.request(op, "body: %s" % bad["what"], self.target(op, pv, query),
                             self.encode(expand(bad["body"]), mt), mt, want=400)
        wrong_types = self.data.get("wrong_content_types") or {}
        if mt and op.response(415) is not None:
            if not tap.check(mt in wrong_types, "%s: %s names a wrong Content-Type for %s" % (op.key, DATA_NAME, mt)):
                return
            a = self.request(op, "Content-Type %s" % wrong_types[mt], self.target(op, pv, query), body,
                             wrong_types[mt], want=415)
            self.check_code(op, a, "unsupported_media_type")
        if not mt:
            a = self.request(op, "a body, which it does not take", self.target(op, pv, query), b'{"contract": 1}',
                             "application/json", want=400)
            if op.method != "HEAD":
                self.check_code(op, a, "body_not_allowed")

    def check_code(self, op, a, code):
        """An error answer has the stable code wanted."""
        if a is None or a.status < 400:
            return
        try:
            got = json.loads(a.body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            got = None
        tap.check(got == code, "%s: the refusal's code is %s" % (op.key, code), "it is %s" % got)

    def wrong_method(self, path, ops):
        documented = self.c.path_methods(path)
        method = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in documented)
        target = self.target(ops[0], self.path_combos(ops[0])[0], {})
        label = "%s %s (wrong method)" % (method, target)
        try:
            a = http(self.sd.sock, method, target)
        except OSError as e:
            tap.check(False, label + ": answered", str(e))
            return
        allow = {m.strip().upper() for m in a.headers.get("allow", "").split(",") if m.strip()}
        tap.check(a.status == 405, label + ": status 405", "it was %d" % a.status)
        tap.check(allow == documented, "%s: the Allow header names the contract's methods (%s)"
                  % (label, ", ".join(sorted(documented))), "Allow: %s" % a.headers.get("allow", "(none)"))
        err = "Content-Type %s, not application/json" % a.media_type() if a.media_type() != "application/json" else None
        err = err or self.check_body("application/json", self.error_schema, a.body)[0]
        tap.check(err is None, label + ": the body is an Error", err)

    def report_undocumented(self):
        for key in sorted(self.undoc):
            for field in sorted(self.undoc[key]):
                tap.diag("undocumented: %s sends %s, which its schema does not mention" % (key, field))
        if not any(self.undoc.values()):
            tap.diag("the server sent no field that the contract's schemas do not mention")


# ---------------------------------------------------------------- static checks

def check_contract(c):
    doc = c.doc
    tap.check(str(doc.get("openapi", "")).startswith("3.0."), "the contract is OpenAPI 3.0.x",
              "openapi: %s" % doc.get("openapi"))
    bad = []
    for where, ref in c.refs():
        try:
            c.pointer(ref)
        except KeyError as e:
            bad.append("%s: %s" % (where, e))
    tap.check(not bad, "every $ref of the contract resolves", *bad)
    unknown = ["%s: %s" % (where, k) for where, s in c.schemas() for k in s if k not in SCHEMA_KEYWORDS]
    tap.check(not unknown, "the contract's schemas use only keywords the validator knows", *unknown)
    missing = ["%s: the required %s is not in its properties" % (where, r) for where, s in c.schemas()
               if s.get("properties") for r in s.get("required") or [] if r not in s["properties"]]
    tap.check(not missing, "every required field is among its schema's properties", *missing)
    ops = list(c.operations())
    tap.check(len(ops) > 0, "the contract has operations (%d)" % len(ops))


def check_routes(c, data):
    """api/routes.c's route table against the data file's list and the contract."""
    with open(ROUTES_C) as f:
        text = f.read()
    table = re.search(r"struct route_def routes\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    # [R_X] = { R_X, "METHODS", p_params[, p_get_params or NULL[, "BODY METHODS"]] }
    entries = re.findall(r"\[(R_\w+)\]\s*=\s*\{\s*R_\w+\s*,\s*\"([^\"]*)\"\s*,\s*(\w+)\s*"
                         r"(?:,\s*(\w+)\s*)?(?:,\s*\"([^\"]*)\"\s*)?\}",
                         table.group(1) if table else "")
    params = {name: re.findall(r"\"([^\"]+)\"", body)
              for name, body in re.findall(r"const char \*const (p_\w+)\[\]\s*=\s*\{([^}]*)\}", text)}
    if not tap.check(len(entries) > 0, "api/routes.c's route table can be read", "no entries found"):
        return {}
    listed = data.get("routes") or {}
    served = {r for r, _, _, _, _ in entries}
    tap.check(served == set(listed), "the data file lists exactly the routes of api/routes.c",
              "in routes.c only: %s" % sorted(served - set(listed)),
              "in %s only: %s" % (DATA_NAME, sorted(set(listed) - served)))
    paths = c.doc.get("paths") or {}
    route_params = {}
    for r, methods, p, p_get, body_methods in entries:
        if r not in listed:
            continue
        path = listed[r]["path"]
        accepted = set(params.get(p, [])) | set(params.get(p_get, []))
        route_params[path] = accepted
        server = {m.strip() for m in methods.split(",")}
        tap.check(server == set(listed[r]["methods"]), "%s: routes.c's methods are the data file's" % r,
                  "routes.c: %s; %s: %s" % (methods, DATA_NAME, listed[r]["methods"]))
        if not tap.check(path in paths, "%s: %s is in the contract" % (r, path)):
            continue
        documented = c.path_methods(path)
        tap.check(server == documented,
                  "%s: the contract documents the methods it serves on %s (%s)" % (r, path, methods),
                  "the contract has %s" % ", ".join(sorted(documented)))
        ops = [o for o in c.operations() if o.path == path]
        with_body = {o.method for o in ops if o.request_content()}
        takes = {m.strip() for m in body_methods.split(",") if m.strip()}
        tap.check(takes == with_body, "%s: the methods that take a body are the contract's (%s)"
                  % (r, ", ".join(sorted(takes)) or "none"),
                  "the contract has a requestBody for: %s" % (", ".join(sorted(with_body)) or "none"))
        doc_params = set().union(*(o.param_schemas("query") for o in ops))
        tap.check(accepted == doc_params, "%s: its query parameters are the contract's" % r,
                  "routes.c (%s): %s; the contract: %s" % (p, sorted(accepted), sorted(doc_params)))
    unserved = set(paths) - {listed[r]["path"] for r in served if r in listed}
    tap.check(not unserved, "every path of the contract is served by a route of routes.c",
              "no route for: %s" % sorted(unserved))
    # The paths routes.c matches, piece by piece: each must be in the contract.
    segments = set()
    for path, item in paths.items():
        for seg in path.strip("/").split("/"):
            segments.add(seg)
        for o in (op for op in c.operations() if op.path == path):
            for s in o.param_schemas("path").values():
                segments.update(str(e) for e in s.get("enum") or [])
    literal = set(re.findall(r"strcmp\(seg\[\d\],\s*\"([^\"]+)\"\)", text))
    urls = set(re.findall(r"strcmp\(q->url,\s*\"([^\"]+)\"\)", text))
    tap.check(literal and not literal - segments, "every path segment routes.c matches is in the contract",
              "not in the contract: %s" % sorted(literal - segments))
    tap.check(not urls - set(paths), "every whole path routes.c matches is in the contract",
              "not in the contract: %s" % sorted(urls - set(paths)))
    return route_params


def check_validator(c, data):
    """The validator itself, on the data file's cases: a validator that took everything would pass anything."""
    for case in data.get("validator_cases") or []:
        try:
            got = c.validate(case["schema"], case["value"])
        except KeyError as e:
            got = "error: %s" % e
        want = case.get("error_at")
        ok = got is None if want is None else got is not None and got.startswith(want + ":")
        tap.check(ok, "validator: %s" % case["what"], "expected %s, got %s" % (
            "a match" if want is None else "a mismatch at " + want, got or "a match"))
        if "undocumented" in case:
            out = set()
            c.undocumented(case["schema"], case["value"], "$", out)
            tap.check(out == set(case["undocumented"]), "validator: %s: undocumented fields found" % case["what"],
                      "found %s, expected %s" % (sorted(out), sorted(case["undocumented"])))


# ---------------------------------------------------------------- main

def live(c, data, route_params):
    sd = Shoald()
    try:
        ok = tap.check(sd.start(), "shoald starts and answers on its socket", *sd.log_tail())
        if ok:
            run = Run(c, data, sd, route_params)
            ops = list(c.operations())
            run.setup()
            for op in ops:
                if op.method != "DELETE":
                    run.successes(op)
            for op in ops:
                run.errors(op)
            by_path = {}
            for op in ops:
                by_path.setdefault(op.path, []).append(op)
            for path, path_ops in by_path.items():
                run.wrong_method(path, path_ops)
            for op in ops:
                if op.method == "DELETE":
                    run.successes(op)
            run.report_undocumented()
    except Exception:  # a broken data file or contract says so, and the guests still go
        tap.check(False, "the test runs to its end", traceback.format_exc())
    finally:
        tap.check(sd.stop(), "no shoal-vmm of this test is left running", "left: %s" % sd.tenders())
        sd.remove()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with open(CONTRACT) as f:
        c = Contract(yaml.safe_load(f))
    with open(DATA) as f:
        data = yaml.safe_load(f)
    tap.todo = [[d["check"], d["why"], 0] for d in data.get("known_disagreements") or []]
    check_contract(c)
    check_validator(c, data)
    route_params = check_routes(c, data)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        why = "/dev/kvm does not exist on this machine" if not os.path.exists("/dev/kvm") \
            else "/dev/kvm is not readable and writable by this user"
        tap.skip("the API against the contract with a real shoald and guests", why)
    else:
        live(c, data, route_params)
        for prefix, why, seen in tap.todo:
            tap.check(seen > 0, "known disagreement still shows (else remove it from %s): %s" % (DATA_NAME, why),
                      "no failing check starts with: " + prefix)
    tap.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
