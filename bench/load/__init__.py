"""The bounded load test: 50 trainees searching and viewing while an author pulls and
publishes, against gunicorn + PostgreSQL + Redis + a real Celery worker on loopback.

    python -m bench.load [--duration 180] [--users 50]      # or: make bench-load

``__main__`` sets everything up and tears it down (``stack``: database, services;
``seed``: accounts and published cases through the real pipeline), runs locust headless
on ``locustfile`` and prints the figures (``report``). Not part of ``make test``.
"""
