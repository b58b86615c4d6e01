// Tests for the host layout paths of DESIGN.md §3.
import { describe, expect, it } from 'vitest';
import { ArtifactError, UsageError } from '../../../src/errors.js';
import { hostLayout } from '../../../src/release/layout.js';

describe('hostLayout', () => {
  const layout = hostLayout('/tmp/root', 'myapp', 'base');

  it('places every path of the host layout under the root', () => {
    expect(layout.root).toBe('/tmp/root');
    expect(layout.srvDir).toBe('/tmp/root/srv');
    expect(layout.base).toEqual({
      dir: '/tmp/root/srv/base',
      releasesDir: '/tmp/root/srv/base/releases',
      current: '/tmp/root/srv/base/current',
    });
    expect(layout.service).toEqual({
      dir: '/tmp/root/srv/myapp',
      releasesDir: '/tmp/root/srv/myapp/releases',
      next: '/tmp/root/srv/myapp/next',
      current: '/tmp/root/srv/myapp/current',
    });
    expect(layout.serviceLink).toBe('/tmp/root/srv/service');
    expect(layout.stateDir).toBe('/tmp/root/var/lib/pulldeploy');
    expect(layout.stateFile).toBe('/tmp/root/var/lib/pulldeploy/state.json');
    expect(layout.lockFile).toBe('/tmp/root/var/lib/pulldeploy/lock');
    expect(layout.configFile).toBe('/tmp/root/etc/pulldeploy/config.yaml');
    expect(layout.saltDir).toBe('/tmp/root/etc/salt');
    expect(layout.saltMinionConfigFile).toBe('/tmp/root/etc/salt/minion.d/pulldeploy.conf');
    expect(layout.saltGrainsFile).toBe('/tmp/root/etc/salt/grains');
  });

  it('names release directories of the base and the service', () => {
    expect(layout.releaseDir('base', '20261122.1-3f2a9c1')).toBe('/tmp/root/srv/base/releases/20261122.1-3f2a9c1');
    expect(layout.releaseDir('service', 'v2')).toBe('/tmp/root/srv/myapp/releases/v2');
  });

  it('makes a relative root absolute and uses the default root /', () => {
    expect(hostLayout('relative/dir', 'a', 'base').root).toBe(`${process.cwd()}/relative/dir`);
    expect(hostLayout('/', 'myapp', 'base').service.current).toBe('/srv/myapp/current');
    expect(hostLayout('/', 'myapp', 'base').stateFile).toBe('/var/lib/pulldeploy/state.json');
  });

  it('uses a configured base service name', () => {
    expect(hostLayout('/r', 'myapp', 'platform').base.current).toBe('/r/srv/platform/current');
  });

  it('refuses a service name that is not one directory', () => {
    expect(() => hostLayout('/r', '../etc', 'base')).toThrow(UsageError);
    expect(() => hostLayout('/r', '..', 'base')).toThrow('service name ".." cannot be a directory under srv/');
    expect(() => hostLayout('/r', 'myapp', 'a/b')).toThrow('base service name "a/b" cannot be a directory under srv/');
  });

  it('refuses a release version that would leave releases/', () => {
    expect(() => layout.releaseDir('service', '../../../etc')).toThrow(ArtifactError);
    expect(() => layout.releaseDir('base', '..')).toThrow(
      'release version ".." cannot be a directory under /tmp/root/srv/base/releases: refusing it',
    );
    expect(() => layout.releaseDir('service', '')).toThrow(ArtifactError);
  });
});
