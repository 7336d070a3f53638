"""ferry's prompt under tmux (issue 31): tab completes commands and remote names (from a listing
of the folder being completed), up-arrow recalls the last line, Ctrl-R searches the history, and
Ctrl-C during mget stops after ABOR with a summary, the prompt still there."""
import os
import shlex
import shutil
import subprocess
import time
import unittest

from client_support import FERRY, PASSWORD, ClientTestCase, sha256_of, write_random


class PromptTests(ClientTestCase):
    def setUp(self):
        if not shutil.which("tmux"):
            self.skipTest("tmux is not installed")
        super().setUp()
        self.socket = "ferry-test-%d" % os.getpid()
        self.addCleanup(subprocess.run, ["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def start(self, port=None):
        env = {"FERRY_PASSWORD": PASSWORD, "HOME": self.work, "TERM": "xterm",
               "FERRY_KNOWN_SERVERS": os.path.join(self.work, "known_servers")}
        command = "cd %s && env %s %s" % (shlex.quote(self.local),
                                         " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env.items()),
                                         " ".join(shlex.quote(a) for a in self.base_args(port=port)))
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "t", "-x", "150", "-y", "40",
                        command + "; sleep 30"], check=True)
        self.wait_for("[user]#")

    def keys(self, *keys):
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "t"] + list(keys), check=True)

    # capture-pane drops the spaces at the ends of lines: waits name text without them.
    def screen(self):
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "t", "-S", "-200"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.screen().count(text) >= count:
                return
            time.sleep(0.1)
        self.fail("%r (x%d) never showed; the screen:\n%s" % (text, count, self.screen()))

    def test_tab_completes_up_recalls_ctrl_r_searches(self):
        write_random(self.remote("report-2026.txt"), 5000, seed=3)
        os.makedirs(self.remote("docs"))
        write_random(self.remote("docs/inner.txt"), 100, seed=4)
        self.start()
        self.keys("ge", "Tab")
        self.wait_for("# get")
        self.keys("rep", "Tab")
        self.wait_for("# get report-2026.txt")
        self.keys("Enter")
        self.wait_for("verified MD5")
        self.assertEqual(sha256_of(self.remote("report-2026.txt")), sha256_of(self.lpath("report-2026.txt")))
        self.keys("ls do", "Tab", "in", "Tab")  # a folder completes with '/' and no space, then inside it
        self.wait_for("# ls docs/inner.txt")
        self.keys("Enter")
        self.wait_for("\ninner.txt")  # NLST of a file: its name
        self.keys("Up", "Up")
        self.wait_for("# get report-2026.txt", count=2)
        self.keys("Enter")
        self.wait_for("verified MD5", count=2)
        self.keys("C-r", "repo")
        self.wait_for("bck:repo")  # libedit's incremental search, a match found
        self.keys("Enter")
        self.wait_for("verified MD5", count=3)

    def test_ctrl_c_during_mget_stops_with_abor_and_a_summary(self):
        for n in range(3):
            write_random(self.remote("big%d.bin" % n), 8 << 20, seed=n)
        proxy = self.proxy(rate=1 << 20)
        self.start(port=proxy.port)
        self.keys("mget -j 1 big*.bin", "Enter")
        self.wait_for("files 0/3")  # the total bar is up
        time.sleep(1)
        self.keys("C-c")
        self.wait_for("mget: 0 transferred")
        self.wait_for("interrupted")
        self.wait_for("[user]#", count=2)  # the prompt goes on
        self.keys("lpwd", "Enter")
        self.wait_for(os.path.realpath(self.local))
        self.assertTrue(os.path.getsize(self.lpath("big0.bin")) < 8 << 20)
        self.assertFalse(os.path.exists(self.lpath("big1.bin")))


if __name__ == "__main__":
    unittest.main()
