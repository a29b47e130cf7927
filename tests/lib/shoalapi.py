"""shoald's API on its unix socket, for the shell tests' Python.

The scripts that tests/lib/shoald.sh's `py` runs import it (from
$top_srcdir/tests/lib): its `api` and test_many_guests.sh's requests.
"""
import http.client
import socket


class UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 to the socket at path, one connection kept for every request."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost")
        self.unix_path = path
        self.unix_timeout = timeout

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.unix_timeout)
        self.sock.connect(self.unix_path)
