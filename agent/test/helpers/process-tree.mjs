// A program that starts a grandchild and then waits forever; writes "<child pid> <grandchild pid>"
// to the file it is given, so a test can check that a cancel killed both.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
writeFileSync(process.argv[2], `${process.pid} ${grandchild.pid}`);
process.on('SIGTERM', () => {}); // ignore the polite signal: only SIGKILL of the group ends it
setInterval(() => {}, 1000);
