"""Reading a server's process tree from /proc: CPU time and proportional memory (PSS)."""
import ctypes
import os
import signal

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()


def process_tree(root_pid):
    """root_pid and all its descendants (forking servers run one or two processes per session)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(name)
        if fields:
            children.setdefault(int(fields[1]), []).append(int(name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root_pid):
    """utime+stime of every live process in the tree, plus cutime+cstime (children already reaped),
    so a session process counts once whether or not it has exited."""
    ticks = 0
    for pid in process_tree(root_pid):
        fields = _stat_fields(pid)
        if fields:  # after ")": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / CLOCK_TICKS


def tree_pss_bytes(root_pid):
    """Sum of PSS over the tree: shared pages are split between the processes sharing them, so
    forking servers are not charged hundreds of times for the same library pages."""
    total_kib = 0
    for pid in process_tree(root_pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total_kib += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kib * 1024


def mem_available_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def die_with_parent():
    """preexec_fn for children: SIGKILL them if the harness dies without running its cleanup."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
