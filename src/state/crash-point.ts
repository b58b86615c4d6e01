// Test-only: PULLDEPLOY_TEST_CRASH_AT=<point> makes the agent SIGKILL itself at that named point, so the
// reliability suite (test/faults/crash.test.ts) can prove that a crash anywhere loses nothing. Unset, it does nothing.
//
// Points: `before:<step>` and `after:<step>` for every step the step recorder runs; `lock:empty` (lock file
// created, not yet filled); `fetch:mid-body` (half the release body read); `extract:mid` (the tenth entry
// reached); `fetch:before-rename` (verified and synced, not yet renamed into releases/); `hook:<phase>` and
// `apply:running` (the first line of output of a running hook or apply command); `link:<dir>/<name>` (a link's
// temporary link made, not yet renamed over it, e.g. `link:myapp/current`); `write:<file name>` (a file's
// replacement written, not yet renamed over it, e.g. `write:state.json`).

/** Read once, here only: nothing else in pulldeploy looks at this variable. */
const crashAt = process.env.PULLDEPLOY_TEST_CRASH_AT;

/** Kills this process with SIGKILL, like a power cut or the OOM killer, when `point` is the one named. */
export function crashPoint(point: string): void {
  if (crashAt === undefined || crashAt !== point) return;
  process.kill(process.pid, 'SIGKILL');
  // The signal is delivered on the way out of the kill(2) call; block until it lands so no code runs after it.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
}
