// Fault-injection point for the lifecycle and security tests: with TETHER_TEST_PAUSE_AT=<step> in
// the environment, the process logs "paused at <step>" on stderr and waits there until it gets
// SIGUSR2: a test can kill -9 it at exactly that step, or change something (swap a file) and let it
// go on. The line names the pid to signal (a step may run in a child, e.g. the supervisor's
// release task). Never set in production; no effect when unset.

export async function pauseForTest(step: string): Promise<void> {
  if (process.env.TETHER_TEST_PAUSE_AT !== step) return;
  await new Promise<void>((resume) => {
    // A signal listener does not keep the event loop alive; with nothing else pending (no agent
    // child during an install step) the process would simply exit here.
    const keepAlive = setInterval(() => {}, 60_000);
    process.once('SIGUSR2', () => {
      clearInterval(keepAlive);
      // What the paused step does next runs right after this line (microtasks): a test that saw
      // it knows the step went on.
      process.stderr.write(`TETHER_TEST_PAUSE_AT: resumed at ${step}\n`);
      resume();
    });
    process.stderr.write(`TETHER_TEST_PAUSE_AT: paused at ${step} (pid ${process.pid})\n`);
  });
}
