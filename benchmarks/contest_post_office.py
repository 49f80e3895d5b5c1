"""django-post-office, the contestant in the workers benchmark: N queued e-mails sent by
``send_queued_mail_until_done(processes=K)`` (its multi-process sender, with its default five
threads per process) from a PostgreSQL database to an SMTP server.

Run in a process of its own, because Django's settings are global:
``python -m benchmarks.contest_post_office URL SMTP_PORT N PROCESSES`` prints the seconds the
sending took (queuing is not timed). Needs ``pip install django django-post-office``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from urllib.parse import urlsplit


def main() -> None:
    url, port, n, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    parts = urlsplit(url)
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": parts.path.lstrip("/"),
                "USER": parts.username or "",
                "PASSWORD": parts.password or "",
                "HOST": parts.hostname or "",
                "PORT": str(parts.port or 5432),
            }
        },
        INSTALLED_APPS=["post_office"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
        EMAIL_BACKEND="post_office.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        POST_OFFICE={"BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"}},
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from post_office import mail
    from post_office.models import STATUS, Email

    mail.send_many(
        [
            {
                "sender": "Shop <reviews@shop.example>",
                "recipients": [f"c{i}@example.com"],
                "subject": f"How was order T{i}?",
                "message": f"Hello C{i}, how did we do with order T{i}?",
            }
            for i in range(n)
        ]
    )
    from django.db import connection

    connection.close()  # the sending processes are forked: none may share this connection
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        mail.send_queued_mail_until_done(lockfile=f"{folder}/lock", processes=processes)
        elapsed = time.perf_counter() - start
    sent = Email.objects.filter(status=STATUS.sent).count()
    print(json.dumps({"seconds": elapsed, "sent": sent}))


if __name__ == "__main__":
    main()
