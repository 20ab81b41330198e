// `npm run chaos -- --minutes N`: the long chaos run. Commands flow while the hub restarts, the
// agent is killed with SIGKILL and WebSocket is blocked and healed; prints what was sent, what
// was stored, duplicates (must be 0) and lost (must be 0). Exits 1 if either is not 0.
import { parseArgs } from 'node:util';
import { runChaos } from '../test/transport/chaos-run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '10' },
    'step-s': { type: 'string', default: '8' },
  },
  strict: true,
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const stepS = Number(values['step-s']);
if (!(minutes > 0) || !(rate > 0) || !(stepS > 0)) {
  process.stderr.write('usage: npm run chaos -- --minutes N [--rate commands-per-second] [--step-s seconds-between-faults]\n');
  process.exit(2);
}

const report = await runChaos({ durationMs: minutes * 60_000, ratePerS: rate, stepMs: stepS * 1000, log: (line) => process.stdout.write(`${line}\n`) });
const duplicates = report.duplicateResults + report.duplicateRuns;
process.stdout.write(
  [
    '',
    `commands sent      ${report.sent}`,
    `results stored     ${report.stored}`,
    `duplicates         ${duplicates} (results stored twice: ${report.duplicateResults}, actions run twice: ${report.duplicateRuns})`,
    `lost               ${report.lost}${report.lost ? ` (${report.lostIds.slice(0, 10).join(', ')})` : ''}`,
    `failed results     ${report.failedResults} (commands cut short by kill -9 answer "interrupted")`,
    `transport switches ${report.switches}`,
    `faults injected    ${report.steps.length}`,
    '',
  ].join('\n'),
);
process.exit(duplicates === 0 && report.lost === 0 ? 0 : 1);
