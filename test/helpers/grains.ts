// The sample instance identity tests share: myapp testing in us-east-1, with the example.com domain.
import type { Grains } from '../../src/identity/grains.js';

/** What buildGrains makes of myapp/testing/useast1/i-0abc898900 with the domain example.com. */
export const sampleGrains: Grains = {
  service_name: 'myapp',
  service_instance: 'testing',
  region: 'useast1',
  aws_region: 'us-east-1',
  instance_id: 'i-0abc898900',
  service_node: '0abc898900',
  cluster_name: 'myapp-testing-useast1',
  service_group: 'myapp-testing',
  hostname: 'myapp-testing-useast1-0abc898900.example.com',
};
