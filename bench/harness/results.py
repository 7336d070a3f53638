"""Collected figures, one row per (workload, metric), one column per server; with the table on
stdout, the CSV and the gnuplot bar chart of ratios against ferryd."""
import csv
import os
import subprocess


class Row:
    def __init__(self, workload, metric, unit, better):
        self.workload, self.metric, self.unit, self.better = workload, metric, unit, better
        self.values, self.notes = {}, {}


class Results:
    def __init__(self, servers):
        self.servers = servers  # column order
        self.rows = {}
        self.server_notes = {}  # server → why it is n/a or where it failed

    def row(self, workload, metric, unit, better="higher"):
        key = (workload, metric)
        if key not in self.rows:
            self.rows[key] = Row(workload, metric, unit, better)
        return self.rows[key]

    def put(self, workload, metric, unit, server, value, better="higher", note=None):
        row = self.row(workload, metric, unit, better)
        row.values[server] = value
        if note:
            row.notes[server] = note

    def fail(self, workload, metric, unit, server, note, better="higher"):
        self.put(workload, metric, unit, server, None, better, note)

    def ratio(self, row, server):
        """server / ferryd, when both are known (so < 1 means less than ferryd)."""
        base, value = row.values.get("ferryd"), row.values.get(server)
        # Negative figures (a per-session PSS below the noise of the baseline) have no ratio.
        if base is None or value is None or base <= 0 or value < 0 or server == "ferryd":
            return None
        return value / base


def _fmt(value):
    if value is None:
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value else "0"


def _columns(results):
    """The servers, plus a "kernel" column when the sendfile ceiling was measured."""
    extra = ["kernel"] if any("kernel" in r.values for r in results.rows.values()) else []
    return results.servers + extra


def print_table(results, out):
    ferryd_known = any(r.values.get("ferryd") is not None for r in results.rows.values())
    columns = _columns(results)
    header = ["workload", "metric", "unit"] + columns
    lines = []
    for row in results.rows.values():
        cells = [row.workload, row.metric, row.unit]
        for server in columns:
            if server not in row.values:
                cells.append("-")
                continue
            cell = _fmt(row.values[server])
            ratio = results.ratio(row, server)
            if ratio is not None:
                cell += f" ({ratio:.2f}x)"
            cells.append(cell)
        lines.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out.write(fmt(header) + "\n" + "  ".join("-" * w for w in widths) + "\n")
    for cells in lines:
        out.write(fmt(cells) + "\n")
    out.write("(x) = value / ferryd in the same run\n" if ferryd_known
              else "ferryd n/a in this run: absolute figures only\n")
    notes = [(s, n) for s, n in results.server_notes.items()]
    for row in results.rows.values():  # per-cell notes, unless they repeat why the server is n/a
        notes += [(s, f"{row.workload} {row.metric}: {n}") for s, n in row.notes.items()
                  if n not in results.server_notes.get(s, "")]
    if notes:
        out.write("notes:\n")
        for server, note in notes:
            out.write(f"  {server}: {note}\n")


def write_csv(results, path, stamp):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "workload", "metric", "unit", "better", "server", "value", "ratio_to_ferryd", "note"])
        for row in results.rows.values():
            for server in _columns(results):
                if server not in row.values:
                    continue
                value, ratio = row.values[server], results.ratio(row, server)
                w.writerow([stamp, row.workload, row.metric, row.unit, row.better, server,
                            "" if value is None else f"{value:.6g}", "" if ratio is None else f"{ratio:.4f}",
                            row.notes.get(server, "")])


def write_chart(results, path, charted):
    """Clustered bars: one cluster per charted metric, one bar per server, each server's figure as a
    share of ferryd's (or of the best server's when ferryd is n/a), turned so that higher is better
    in every cluster: value / ferryd where more is better, ferryd / value where less is (CPU,
    memory, latency). So ferryd's bars are all 1 and a peer's bar below 1 is a row ferryd leads.
    Needs gnuplot; returns False without it."""
    rows = [r for r in results.rows.values() if r.metric in charted or f"{r.workload} {r.metric}" in charted]
    rows = [r for r in rows if any(v is not None for v in r.values.values())]
    if not rows:
        return False
    has_ferryd = any(r.values.get("ferryd") is not None for r in rows)

    def share(row, value, base):  # higher is better, whichever way the row's figures point
        return base / value if row.better == "lower" else value / base

    def best(row):
        known = [v for v in row.values.values() if v and v > 0]
        return (min(known) if row.better == "lower" else max(known)) if known else None

    data_path = path[:-4] + ".dat"
    with open(data_path, "w") as f:
        f.write("metric " + " ".join(f'"{s}"' for s in results.servers) + "\n")
        for row in rows:
            base = row.values.get("ferryd") if has_ferryd else best(row)
            cells = []
            for s in results.servers:
                v = row.values.get(s)
                cells.append("-" if v is None or not base or base <= 0 or v <= 0 else f"{share(row, v, base):.4f}")
            label = f"{row.workload} {row.metric}".replace('"', "")
            f.write(f'"{label}" ' + " ".join(cells) + "\n")
    title = ("each server as a share of ferryd (same run)" if has_ferryd else "share of the best server (ferryd n/a)")
    script = "\n".join([
        "set terminal pngcairo size 1600,800 noenhanced font ',10'",
        f"set output '{path}'",
        f"set title '{title}; higher is better in every cluster (CPU, memory and latency inverted)'",
        "set ylabel 'server vs ferryd, higher = better (below 1: ferryd leads)'",
        "set style data histograms", "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1", "set datafile missing '-'",
        "set xtics rotate by -30 left", "set grid ytics", "set key outside right top",
        "set logscale y", "set yrange [*:*]", "set bmargin 10",  # ratios span 0.01x..100x
        "plot " + ", ".join(f"'{data_path}' using {i + 2}:xtic(1) title columnhead({i + 2})"
                            for i in range(len(results.servers))),
        ""])
    try:
        done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and os.path.exists(path)
