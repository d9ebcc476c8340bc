"""Start the service: `python -m app`, configured from the environment."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn

from app.config import ConfigError, Settings
from app.logs import configure_logging
from app.main import create_app


def main() -> None:
    """Read settings, set up JSON logs and serve until SIGTERM or SIGINT."""
    configure_logging("INFO")
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        logging.getLogger("app").error("bad configuration: %s", exc)
        sys.exit(2)
    configure_logging(settings.log_level)
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal; exit 0 at that point.
    signal.signal(signal.SIGTERM, _exit_after_drain)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )


def _exit_after_drain(signum: int, frame: FrameType | None) -> None:
    logging.getLogger("app").info("stopped cleanly")
    sys.exit(0)


if __name__ == "__main__":
    main()
