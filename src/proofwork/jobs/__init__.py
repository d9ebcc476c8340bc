"""The run queue: the store holds each run's state; embedded threads or Celery execute runs."""
