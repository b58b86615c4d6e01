# The service's own state: its config file, rendered from pillar.
myapp-config:
  file.managed:
    - name: /etc/myapp/config.yaml
    - makedirs: True
    - contents: |
        workers: {{ pillar.get('myapp', {}).get('workers', 1) }}
        log_level: {{ pillar.get('myapp', {}).get('log_level', 'info') }}
