// The instance's identity (DESIGN.md §1), as exported to hooks, salt and status.

export interface Grains {
  service_name: string;
  service_instance: string;
  /** The AWS region without dashes, as in the Auto Scaling group name: `useast1`. */
  region: string;
  aws_region: string;
  instance_id: string;
  service_node: string;
  cluster_name: string;
  service_group: string;
  hostname: string;
}

export const grainNames: readonly (keyof Grains)[] = [
  'service_name',
  'service_instance',
  'region',
  'aws_region',
  'instance_id',
  'service_node',
  'cluster_name',
  'service_group',
  'hostname',
];
