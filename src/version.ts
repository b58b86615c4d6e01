// The pulldeploy version (kept equal to package.json's by a test) and the commit it was built from.

/** Replaced by the binary build (scripts/build-binary.mjs, esbuild `define`); absent from the tsc build of a checkout. */
declare const __PULLDEPLOY_COMMIT__: string | undefined;

export const pulldeployVersion = '0.1.0';

export const buildCommit: string = typeof __PULLDEPLOY_COMMIT__ === 'string' ? __PULLDEPLOY_COMMIT__ : 'unknown';

/** What `pulldeploy --version` prints: enough to tell exactly which build runs on an instance. */
export function describeVersion(): string {
  return `pulldeploy ${pulldeployVersion} (commit ${buildCommit}, node ${process.versions.node}, ${process.platform}-${process.arch})`;
}
