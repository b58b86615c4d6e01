myapp:
  workers: 2
  log_level: debug
