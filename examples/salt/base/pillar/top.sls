# Pillar top: common data for all, plus <service_group>.sls (e.g. myapp-testing.sls) when it exists.
base:
  '*':
    - common
{% set group_file = grains['service_group'] %}
{% if salt['file.file_exists'](opts['pillar_roots']['base'][-1] ~ '/' ~ group_file ~ '.sls') %}
  'service_group:{{ group_file }}':
    - match: grain
    - {{ group_file }}
{% endif %}
