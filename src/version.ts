// The pulldeploy version (kept equal to package.json's by a test).
export const pulldeployVersion = '0.1.0';
