// Fault-injection point for the lifecycle tests: with TETHER_TEST_PAUSE_AT=<step> in the
// environment, the process logs "paused at <step>" on stderr and waits there for ever, so a test
// can kill -9 it at exactly that step. Never set in production; no effect when unset.

export async function pauseForTest(step: string): Promise<void> {
  if (process.env.TETHER_TEST_PAUSE_AT !== step) return;
  process.stderr.write(`TETHER_TEST_PAUSE_AT: paused at ${step}\n`);
  await new Promise(() => {});
}
