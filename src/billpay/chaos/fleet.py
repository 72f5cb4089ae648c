"""billpay's own processes under the soak: started, killed with SIGKILL, started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BILLPAY = str(Path(sys.executable).parent / "billpay")


@dataclass
class Member:
    """One long-running billpay process (``billpay api``, ``billpay worker``, ``billpay watch``)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        log = (self.log_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [BILLPAY, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no cleanup, no lease released, no half-done transaction committed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Fleet:
    members: dict[str, Member] = field(default_factory=dict)
    kills: int = 0

    def add(self, member: Member) -> Member:
        self.members[member.name] = member
        return member

    def start_all(self) -> None:
        for member in self.members.values():
            member.start()

    def kill(self, name: str) -> None:
        self.members[name].kill()
        self.kills += 1

    def revive_dead(self) -> list[str]:
        """Start again every member that is not running (killed, or died by itself)."""
        revived = [name for name, member in self.members.items() if not member.alive]
        for name in revived:
            self.members[name].start()
        return revived

    def stop_all(self) -> None:
        for member in self.members.values():
            member.stop()


def process_env(base: dict[str, str], **settings: str) -> dict[str, str]:
    """The environment of a soak process: nothing inherited that names a provider or database."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("VTPASS", "FLUTTERWAVE", "INTERSWITCH", "PAYSTACK", "STELLAR", "CNGN", "BILL")
        )
        and key not in {"DATABASE_URL", "TEST_DATABASE_URL"}
    }
    return {**kept, **base, **settings}
