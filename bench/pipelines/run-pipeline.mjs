// Runs one pipeline variant in a process of its own (so its time and peak memory are its own) and prints a JSON line.
import { runVariant } from './variants.mjs';

const [name, bucket, key, version, dir, sha256] = process.argv.slice(2);
if (sha256 === undefined) {
  process.stderr.write('usage: run-pipeline.mjs VARIANT BUCKET KEY VERSION DIR SHA256\n');
  process.exit(2);
}
const started = process.hrtime.bigint();
const digest = await runVariant(name, { bucket, key, version, dir, sha256 });
const ms = Number(process.hrtime.bigint() - started) / 1e6;
if (digest !== sha256) {
  process.stderr.write(`${name}: sha256 ${digest}, expected ${sha256}\n`);
  process.exit(4);
}
process.stdout.write(`${JSON.stringify({ name, ms })}\n`);
