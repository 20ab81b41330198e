// `tether send <key-id> <command> [json-data] [--wait S]`: queue a command and print its result
// (waits up to 30 s by default; --wait 0 only queues it).
// `tether send --label role=db <command> [json-data]` (or --all, or --keys id,id): a fleet command
// to every key the selector picks, with a live tally until every target is done or --wait passes.
import type { Command } from 'commander';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { parseJsonObject, parseSeconds } from './parse-args.ts';
import { HubError, UsageError } from './usage-error.ts';
import { collectLabel, hasSelector, positiveInteger, selectorOf } from './selector-options.ts';
import type { SelectorOptions } from './selector-options.ts';
import { printJson, printText } from './output.ts';
import { escapeControls, jsonForTerminal } from '@tether/shared/terminal-text.ts';

interface SendOptions extends AdminOptions, SelectorOptions {
  wait?: string;
  concurrency?: string;
  deadline?: string;
}

const TALLY_STATES = ['succeeded', 'failed', 'running', 'queued', 'offline', 'expired'] as const;

export function addSendCommand(program: Command): void {
  withAdminOptions(
    program
      .command('send')
      .description("send a command to a key's agent, or with --label/--all/--keys to a fleet")
      .argument('<key-id-or-command>', 'key id of the agent; with --label/--all/--keys, the command')
      .argument('[command-or-data]', 'command name (e.g. ping, echo, info); with --label/--all/--keys, the JSON data')
      .argument('[json-data]', 'command data as a JSON object, e.g. \'{"message":"hi"}\''),
  )
    .option('--wait <seconds>', 'wait up to this long for the result (0-300; 0 only queues it); a fleet command: for every target (0-86400)')
    .option('--label <name=value>', 'fleet: every active key carrying this label (repeatable: every one)', collectLabel)
    .option('--all', 'fleet: every active key')
    .option('--keys <ids>', 'fleet: these key ids, comma-separated')
    .option('--concurrency <n>', 'fleet: how many targets run at once', '100')
    .option('--deadline <seconds>', 'fleet: targets not started by then (offline agents too) expire')
    .action(async (first: string, second: string | undefined, third: string | undefined, options: SendOptions) => {
      const fleet = hasSelector(options);
      if (fleet) return sendFleet(first, second, third, options);
      if (second === undefined) throw new UsageError('give the command after the key id, e.g. tether send key_0123456789ab ping (or select keys with --label/--all/--keys)');
      const data = third === undefined ? {} : parseJsonObject(third, 'json-data');
      const waitS = parseSeconds(options.wait ?? '30', '--wait');
      const { status, body } = await new AdminClient(options).request('POST', `/api/agents/keys/${encodeURIComponent(first)}/command`, { command: second, data, wait_s: waitS });
      const head = `${escapeControls(String(body?.command_id))} ${escapeControls(String(body?.status))}`;
      if (options.json) printJson(body);
      else if (status === 202) printText(`${head}${waitS ? ` (no result within ${waitS} s)` : ''}`);
      else printText(`${head}\n${jsonForTerminal(body.result)}`);
      if (body.status === 'failed' || body.status === 'expired')
        throw new HubError(`command ${escapeControls(String(body.status))}${body.result?.error ? `: ${escapeControls(String(body.result.error))}` : ''}`);
    });
}

async function sendFleet(command: string, jsonData: string | undefined, extra: string | undefined, options: SendOptions): Promise<void> {
  if (extra !== undefined) throw new UsageError('a fleet command takes the command and its JSON data only, e.g. tether send --label role=db backup \'{"target":"app"}\'');
  const selector = selectorOf(options);
  const data = jsonData === undefined ? {} : parseJsonObject(jsonData, 'json-data');
  const waitS = options.wait === undefined ? 300 : Number(options.wait);
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 86_400) throw new UsageError('--wait must be a number of seconds from 0 to 86400');
  const concurrency = positiveInteger(options.concurrency ?? '100', '--concurrency', 100_000);
  const deadline = options.deadline === undefined ? undefined : positiveInteger(options.deadline, '--deadline', 7 * 24 * 3600);
  const client = new AdminClient(options);
  const { body: created } = await client.request('POST', '/api/commands', { selector, command, data, concurrency, ...(deadline ? { deadline_s: deadline } : {}) });
  const batchId = String(created.batch_id);
  if (!options.json) printText(`fleet command ${escapeControls(batchId)}: ${escapeControls(command)} to ${Number(created.targets)} keys`);
  let summary = created.summary as { counts: Record<string, number>; done: boolean; total: number };
  const printed = new Set<string>();
  if (waitS > 0 && !summary.done) {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), waitS * 1000);
    let lastTally = '';
    try {
      for await (const event of client.events(`/api/commands/batches/${encodeURIComponent(batchId)}/events`, stop.signal)) {
        if (event.event !== 'summary') continue;
        summary = JSON.parse(event.data);
        const tally = TALLY_STATES.map((state) => `${state} ${summary.counts[state] ?? 0}`).join(', ');
        if (!options.json && tally !== lastTally) {
          printText(tally);
          printed.add(tally);
        }
        lastTally = tally;
        if (summary.done) break;
      }
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
  }
  const finalTally = TALLY_STATES.map((state) => `${state} ${summary.counts[state] ?? 0}`).join(', ');
  if (!options.json && (waitS === 0 || summary.done) && !printed.has(finalTally)) printText(finalTally);
  if (options.json) {
    const { body } = await client.request('GET', `/api/commands/batches/${encodeURIComponent(batchId)}`);
    printJson(body);
  } else if (!summary.done) printText(`not done within ${waitS} s; follow it with GET /api/commands/batches/${escapeControls(batchId)}`);
  if (summary.done && ((summary.counts.failed ?? 0) > 0 || (summary.counts.expired ?? 0) > 0)) {
    throw new HubError(`${summary.counts.failed ?? 0} targets failed, ${summary.counts.expired ?? 0} expired`);
  }
}
