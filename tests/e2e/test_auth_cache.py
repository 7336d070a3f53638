"""Returning logins skip argon2id (auth_cache_ttl): only with the password that last verified, only
for the account's current password hash, never for a disabled account, and never after the TTL."""
import ftplib
import time
import unittest

import harness
from harness_ext import ExtServerTestCase, user_cli

CACHED = "(password as verified recently: auth_cache_ttl)"


class AuthCacheBase(ExtServerTestCase):
    USERS = {"rita": "rita-pw-123", "sam": "sam-pw-1234"}

    def logins_from_cache(self, user):
        return sum(1 for line in self.srv.log_text().splitlines() if " logged in" in line and user in line
                   and CACHED in line)

    def log_in_and_out(self, user, password):
        ftp = self.srv.ftp(user, password)
        ftp.quit()

    def refused(self, user, password):
        try:
            self.log_in_and_out(user, password)
            return False
        except ftplib.error_perm:
            return True

    def wait_for(self, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False


@harness.skip_unless_ferryd("the login cache is ferryd's")
class AuthCacheTest(AuthCacheBase):
    CONFIG = {"accounts_check_interval": 1, "login_fail_delay_ms": 0}

    def test_the_second_login_with_the_same_password_skips_argon2id(self):
        before = self.logins_from_cache("sam")
        self.log_in_and_out("sam", "sam-pw-1234")  # argon2id, remembered
        self.log_in_and_out("sam", "sam-pw-1234")
        self.log_in_and_out("sam", "sam-pw-1234")
        self.assertTrue(self.wait_for(lambda: self.logins_from_cache("sam") - before == 2),
                        self.srv.log_text()[-2000:])

    def test_a_wrong_password_still_fails_after_a_good_one(self):
        self.log_in_and_out("rita", "rita-pw-123")
        for guess in ("rita-pw-12", "rita-pw-1234", "RITA-PW-123", ""):
            with self.assertRaises(ftplib.error_perm, msg=guess):
                self.srv.ftp("rita", guess)
        self.log_in_and_out("rita", "rita-pw-123")  # the owner's entry survives the guesses

    def test_a_password_changed_from_the_shell_undoes_the_old_one(self):
        self.assertEqual(user_cli(self.srv, "add", "tess", "--password-stdin", input="tess-old-pw-1\n").returncode, 0)
        self.log_in_and_out("tess", "tess-old-pw-1")
        self.log_in_and_out("tess", "tess-old-pw-1")
        self.assertEqual(self.logins_from_cache("tess"), 1)
        p = user_cli(self.srv, "passwd", "tess", "--password-stdin", input="tess-new-pw-2\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.wait_for(lambda: self.refused("tess", "tess-old-pw-1")),
                        "the old password still logs in after passwd")
        self.log_in_and_out("tess", "tess-new-pw-2")  # argon2id against the new hash
        self.assertEqual(self.logins_from_cache("tess"), 1)
        self.log_in_and_out("tess", "tess-new-pw-2")
        self.assertTrue(self.wait_for(lambda: self.logins_from_cache("tess") == 2))

    def test_a_disabled_account_is_refused_though_its_password_is_remembered(self):
        self.assertEqual(user_cli(self.srv, "add", "ursa", "--password-stdin", input="ursa-pw-123\n").returncode, 0)
        self.log_in_and_out("ursa", "ursa-pw-123")
        self.assertEqual(user_cli(self.srv, "disable", "ursa").returncode, 0)
        self.assertTrue(self.wait_for(lambda: self.refused("ursa", "ursa-pw-123")),
                        "a disabled account logged in from the cache")


@harness.skip_unless_ferryd("the login cache is ferryd's")
class AuthCacheExpiryTest(AuthCacheBase):
    CONFIG = {"auth_cache_ttl": 1}

    def test_after_the_ttl_the_password_is_verified_again(self):
        self.log_in_and_out("sam", "sam-pw-1234")
        time.sleep(1.2)
        self.log_in_and_out("sam", "sam-pw-1234")
        self.assertEqual(self.logins_from_cache("sam"), 0)


@harness.skip_unless_ferryd("the login cache is ferryd's")
class AuthCacheOffTest(AuthCacheBase):
    CONFIG = {"auth_cache_ttl": 0}

    def test_off_means_every_login_pays_argon2id(self):
        for _ in range(3):
            self.log_in_and_out("sam", "sam-pw-1234")
        self.assertEqual(self.logins_from_cache("sam"), 0)


if __name__ == "__main__":
    unittest.main()
