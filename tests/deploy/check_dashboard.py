"""Checks the Grafana dashboards under deploy/grafana/dashboards/.

Each file must be valid JSON with the template variables job and instance
(Prometheus label_values queries, instance narrowed by $job, "All" allowed),
and every metric that any panel's query reads must be selected with
job=~"$job" and instance=~"$instance", so that picking a job or an instance
narrows every panel. Exit status 0 when every dashboard passes, 1 otherwise,
with one line per finding.

    python3 tests/deploy/check_dashboard.py deploy/grafana/dashboards/*.json
"""

import json
import re
import sys

FILTERS = ('job=~"$job"', 'instance=~"$instance"')

# PromQL words that are not metric names when they stand bare.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}
# Aggregations, which may put by (...) or without (...) before their "(".
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile"}
MATCHERS = re.compile(r'\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\}')


def metric_selectors(expr):
    """(name, matchers or None) for every metric the PromQL expression reads.

    A name followed by "(" is a function or an aggregation, not a metric;
    the label lists of by/without/on/ignoring/group_* are not either."""
    blocks = MATCHERS.findall(expr)
    # Matchers aside (strings in them stay as they are), numbered.
    expr = MATCHERS.sub(lambda m, n=iter(range(len(blocks))): "{#%d}" % next(n), expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # other strings can hold anything
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1",
                  expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries: [5m], [10m:1m]
    found = []
    pattern = (r"(?<![\w.#])([A-Za-z_:][A-Za-z0-9_:]*)?\s*(\{#(\d+)\})?"
               r"\s*(\(|by\b|without\b)?")
    for m in re.finditer(pattern, expr):
        name, braces, index, call = m.groups()
        if not name and not braces:
            continue
        matchers = blocks[int(index)] if braces else None
        if call == "(" or (call and name in AGGREGATIONS) or (name in KEYWORDS and not braces):
            continue
        found.append((name or "{...}", matchers))
    return found


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))  # rows hold their panels


def check(path):
    problems = []
    try:
        with open(path) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        return ["%s: not valid JSON: %s" % (path, e)]
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    for name, narrowed in (("job", None), ("instance", '"$job"')):
        v = variables.get(name)
        if not v:
            problems.append("%s: no template variable %s" % (path, name))
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if v.get("type") != "query" or not re.match(r"label_values\(.*,\s*%s\)$" % name, q):
            problems.append("%s: variable %s is not a label_values(..., %s) query: %r"
                            % (path, name, name, q))
        if narrowed and narrowed not in q:
            problems.append("%s: variable %s does not depend on $job: %r" % (path, name, q))
        if not v.get("includeAll") or v.get("allValue") != ".*":
            problems.append('%s: variable %s has no "All" matching everything (allValue .*)'
                            % (path, name))
    count = 0
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if expr is None:
                continue
            count += 1
            sels = metric_selectors(expr)
            if not sels:
                problems.append("%s: panel %r: no metric in %r" % (path, p.get("title"), expr))
            for name, matchers in sels:
                missing = [f for f in FILTERS if not matchers or f not in matchers]
                if missing:
                    problems.append("%s: panel %r: %s lacks %s in %r"
                                    % (path, p.get("title"), name, " and ".join(missing), expr))
    if count == 0:
        problems.append("%s: no panel queries" % path)
    return problems


def main(paths):
    if not paths:
        print("usage: check_dashboard.py DASHBOARD.json...", file=sys.stderr)
        return 2
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p)
    print("%d dashboard(s), %d finding(s)" % (len(paths), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
