#!/usr/bin/python3
"""A real SMTP server for Tributary's tests (aiosmtpd, Debian's python3-aiosmtpd).

Listens on 127.0.0.1:PORT and writes every message it accepts to DIR/NNNNNN.json
({"mail_from", "rcpt_tos", "data"}, written whole then renamed, so a reader never sees half a
file), and the security-relevant commands it was sent (EHLO, STARTTLS, AUTH <mechanism>, never
the credentials) to DIR/commands.log. Recipients starting with "refused" get a 550. DIR/ready appears once it accepts connections.

  smtp_sink.py --port P --dir D [--user U --password W] [--cert C --key K] [--auth-in-clear]

--user/--password: AUTH is required before MAIL (PLAIN or LOGIN).
--cert/--key: STARTTLS is offered with that certificate.
--auth-in-clear: AUTH is advertised and accepted without TLS (a careless server, for the test
that the mailer never sends a password unencrypted).
"""
import argparse
import json
import logging
import os
import signal
import ssl
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.count = 0

    def log(self, line):
        with self.lock:
            with open(os.path.join(self.directory, "commands.log"), "a", encoding="utf-8") as log:
                log.write(line + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, for the tests of permanent refusals.
        if address.lower().startswith("refused"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = "%06d.json" % self.count
        content = envelope.original_content or b""
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": content.decode("utf-8", errors="replace"),
        }
        temporary = os.path.join(self.directory, name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(temporary, os.path.join(self.directory, name))
        return "250 Message accepted"


class LoggingSMTP(SMTP):
    def __init__(self, handler, sink, **kwargs):
        super().__init__(handler, **kwargs)
        self.sink = sink

    async def smtp_EHLO(self, arg):
        self.sink.log("EHLO")
        return await super().smtp_EHLO(arg)

    async def smtp_STARTTLS(self, arg):
        self.sink.log("STARTTLS")
        return await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        mechanism = (arg or "").split(" ")[0].upper()
        self.sink.log("AUTH " + mechanism + (" (over TLS)" if self._tls_protocol else " (in clear)"))
        return await super().smtp_AUTH(arg)


class SinkController(Controller):
    def __init__(self, sink, **kwargs):
        self.sink = sink
        super().__init__(sink, **kwargs)

    def factory(self):
        return LoggingSMTP(self.handler, self.sink, **self.SMTP_kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth-in-clear", action="store_true")
    options = parser.parse_args()

    # aiosmtpd's own deprecation notes are noise in the test output.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    sink = Sink(options.dir)
    smtp = {"data_size_limit": 10 * 1024 * 1024}
    if options.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(options.cert, options.key)
        smtp["tls_context"] = context
    if options.user is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login == options.user.encode()
                and auth_data.password == options.password.encode()
            )
            return AuthResult(success=ok, handled=False)

        smtp["authenticator"] = authenticator
        smtp["auth_required"] = True
        smtp["auth_require_tls"] = not options.auth_in_clear
    elif options.auth_in_clear:
        smtp["authenticator"] = lambda *args: AuthResult(success=True, handled=False)
        smtp["auth_require_tls"] = False

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    signal.signal(signal.SIGINT, lambda *args: stop.set())
    # The test process may start this with SIGTERM blocked (the mask of the thread that spawned it
    # is inherited); unblock it, or the test's stop() would have to wait for its SIGKILL.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    controller = SinkController(sink, hostname="127.0.0.1", port=options.port, ready_timeout=10, **smtp)
    controller.start()
    open(os.path.join(options.dir, "ready"), "w").close()

    while not stop.wait(0.5):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
