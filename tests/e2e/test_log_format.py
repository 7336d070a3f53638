"""log_format = "json" (issue 29, part 4): every line of ferryd's log is one JSON object a log
shipper can read, with time, level, session, client, account, event and message; a file name that
is not UTF-8 cannot break it. The text format stays the default and the xferlog is unchanged."""
import io
import json
import os
import tempfile
import unittest

import harness
from harness import FerryServer, quit_quietly, run, server_command


class JsonLogTests(unittest.TestCase):
    def test_a_scripted_session_logs_json_objects(self):
        with FerryServer(config={"log_format": "json", "log_file": None}, users={"alice": "alice-pw-123"}) as srv:
            ftp = srv.ftp("alice")
            try:
                ftp.storbinary("STOR report.txt", io.BytesIO(b"x" * 1000))
                if not harness.ON_WINDOWS:  # Windows takes UTF-8 names only (553)
                    ftp.encoding = "latin-1"  # the name's bytes as they are: a lone 0xFE is not UTF-8 (0xFF is Telnet's IAC)
                    ftp.storbinary("STOR bad-\xfe-name.txt", io.BytesIO(b"y"))
                with self.assertRaises(Exception):
                    ftp.sendcmd("DELE nothing-here.txt")
            finally:
                quit_quietly(ftp)
            srv.wait_log(r"bad-" if not harness.ON_WINDOWS else r"report\.txt")
            lines = [line for line in srv.log_text().splitlines() if line.strip()]
        objects = [json.loads(line) for line in lines]  # every line parses
        for o in objects:
            self.assertIn(o["level"], ("debug", "info", "warn", "error"))
            self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn("message", o)
        uploads = [o for o in objects if o.get("event") == "upload"]
        self.assertEqual(len(uploads), 1 if harness.ON_WINDOWS else 2, lines)
        self.assertEqual(uploads[0]["account"], "alice")
        self.assertEqual(uploads[0]["client"], "127.0.0.1")
        self.assertIsInstance(uploads[0]["session"], int)
        self.assertIn("/report.txt: 1000 bytes", uploads[0]["message"])
        if not harness.ON_WINDOWS:
            self.assertIn("bad-\ufffd-name.txt", uploads[1]["message"])
        self.assertTrue(any(o.get("event") == "listening" or "listening" in o["message"] for o in objects))

    def test_text_stays_the_default(self):
        with FerryServer(config={"log_file": None}, users={"alice": "alice-pw-123"}) as srv:
            quit_quietly(srv.ftp("alice"))
            text = srv.log_text()
        self.assertNotIn('{"time"', text)
        self.assertRegex(text, r"\d{4}-\d\d-\d\dT\S+Z info session \d+ 127\.0\.0\.1")

    def test_a_bad_log_format_stops_the_start(self):
        with tempfile.TemporaryDirectory() as folder:
            config = os.path.join(folder, "ferryd.toml")
            with open(config, "w") as f:
                f.write('listen = ["127.0.0.1:0"]\nroot = "%s"\nlog_format = "xml"\n' % os.path.join(folder, "homes"))
            p = run(server_command() + ["--config", config], timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("log_format", p.stderr)


if __name__ == "__main__":
    unittest.main()
