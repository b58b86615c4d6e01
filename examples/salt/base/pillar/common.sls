ntp_servers:
  - 169.254.169.123
