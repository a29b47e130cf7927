#!/usr/bin/env python3
"""The metric names a Grafana dashboard's PromQL queries use.

  grafana_check.py names DASHBOARD.json      every metric name, one a line
  grafana_check.py exprs DASHBOARD.json      every query, one a line
  grafana_check.py rules DASHBOARD.json      a Prometheus rules file of the
                                               queries, for promtool check rules
  grafana_check.py check DASHBOARD.json PAGE fails naming every metric the
                                               dashboard asks for that the
                                               /metrics PAGE lacks, and every
                                               label (or fixed label value)
                                               a matcher asks of a metric
                                               that the page lacks
  grafana_check.py expr 'PROMQL'             the names in one expression

The parser is small: it drops string literals, Grafana's variables, label
matchers {...}, ranges [...] and grouping clauses (by, without, on,
ignoring, group_left, group_right) with their label lists; what is left
that looks like a name and is not a function (a name before "("), a
keyword or an aggregation is a metric name.  label_values(METRIC, LABEL)
in template variables names METRIC.
"""
import json
import re
import sys

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "atan2", "inf", "nan",
}
AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
}
NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def expressions(dash):
    """Every PromQL expression of the dashboard, with where it is."""
    out = []

    def panels(ps):
        for p in ps:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(("panel %r %s" % (p.get("title"), t.get("refId")), t["expr"]))
            panels(p.get("panels", []))

    panels(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q:
            out.append(("variable %r" % v.get("name"), q))
    return out


def strip(expr):
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    expr = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    return expr


def names(expr):
    """The metric names in one expression (a Grafana query or PromQL)."""
    found = []
    m = re.match(r"\s*label_values\s*\((.*)\)\s*$", expr, re.S)
    if m:
        # label_values(LABEL) or label_values(METRIC, LABEL): only METRIC is a name.
        args = strip(m.group(1)).rsplit(",", 1)
        return names(args[0]) if len(args) == 2 else []
    for m in re.finditer(r"query_result\s*\((.*)\)\s*$", expr, re.S):
        return names(m.group(1))
    s = strip(expr)
    for m in NAME.finditer(s):
        w = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function or an aggregation
        if w.lower() in KEYWORDS or w in AGGREGATIONS:
            continue
        if s[:m.start()].rstrip().endswith(tuple("0123456789.")) and re.match(r"[eE]", w):
            continue  # the exponent of a number
        if re.match(r"\d", s[m.start() - 1:m.start()] or " "):
            continue  # a unit of a duration, like 5m
        found.append(w)
    return found


MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"instance", "job"}


def selectors(expr):
    """(metric, [(label, op, value)]) for every NAME{...} in the expression."""
    out = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < len(expr) and expr[j] != c:
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
            continue
        m = NAME.match(expr, i)
        if m and (i == 0 or not re.match(r"[A-Za-z0-9_:$]", expr[i - 1])):
            j = m.end()
            while j < len(expr) and expr[j] == " ":
                j += 1
            if j < len(expr) and expr[j] == "{":
                k, body = j + 1, ""
                while k < len(expr) and expr[k] != "}":
                    if expr[k] == '"':
                        e = k + 1
                        while e < len(expr) and expr[e] != '"':
                            e += 2 if expr[e] == "\\" else 1
                        body += expr[k:e + 1]
                        k = e + 1
                    else:
                        body += expr[k]
                        k += 1
                out.append((m.group(0), [x.groups() for x in MATCHER.finditer(body)]))
                i = k + 1
                continue
            i = m.end()
            continue
        i += 1
    return out


def page_labels(text):
    """{metric: {label: {values}}} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        labels = out.setdefault(m.group(1), {})
        for lm in MATCHER.finditer(m.group(3) or ""):
            labels.setdefault(lm.group(1), set()).add(lm.group(3))
    return out


def label_problems(expr, have):
    """What the expression's label matchers ask of a metric that it lacks."""
    bad = []
    for metric, matchers in selectors(expr):
        labels = have.get(metric)
        if labels is None:
            continue  # an unknown metric, reported as such
        for label, op, value in matchers:
            if label in TARGET_LABELS:
                continue
            if label not in labels:
                bad.append("%s has no label %s" % (metric, label))
            elif op == "=" and "$" not in value and value not in labels[label]:
                bad.append("%s{%s} has no value \"%s\" (it has: %s)" % (
                    metric, label, value, ", ".join(sorted(labels[label]))))
    return bad


def page_names(text):
    """The sample names on a Prometheus text page."""
    out = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = NAME.match(line)
        if m:
            out.add(m.group(0))
    return out


def concrete(e):
    """A panel query as Prometheus takes it: Grafana's variables replaced
    by what "All" and a 1 minute rate interval give."""
    e = e.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", e)


def rules(dash):
    """A rules file with every panel query, Grafana's variables replaced."""
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (where, e) in enumerate(expressions(dash)):
        if where.startswith("variable"):
            continue
        e = concrete(e)
        lines.append("      - record: dashboard:query_%d" % i)
        lines.append("        expr: %s" % json.dumps(e))
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "expr":
        print("\n".join(names(argv[2])))
        return 0
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[2]) as f:
        dash = json.load(f)
    if argv[1] == "names":
        print("\n".join(sorted({n for _, e in expressions(dash) for n in names(e)})))
    elif argv[1] == "exprs":
        print("\n".join(e for _, e in expressions(dash)))
    elif argv[1] == "rules":
        sys.stdout.write(rules(dash))
    elif argv[1] == "check" and len(argv) == 4:
        with open(argv[3]) as f:
            text = f.read()
        have = page_names(text)
        labels = page_labels(text)
        bad = [(w, "%s is not on the /metrics page" % n) for w, e in expressions(dash) for n in names(e)
               if n not in have]
        bad += [(w, p) for w, e in expressions(dash) for p in label_problems(e, labels)]
        if not expressions(dash):
            print("the dashboard has no queries", file=sys.stderr)
            return 1
        for w, n in bad:
            print("%s: %s" % (w, n), file=sys.stderr)
        return 1 if bad else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
