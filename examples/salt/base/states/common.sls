# Applied on every node of every service.
pulldeploy-motd:
  file.managed:
    - name: /etc/motd
    - contents: "{{ grains['cluster_name'] }} node {{ grains['service_node'] }} (managed by pulldeploy)"
