# Base top file: every node gets common; each service's own states match on the service_name grain.
base:
  '*':
    - common
  'service_name:*':
    - match: grain
    - {{ grains['service_name'] }}
