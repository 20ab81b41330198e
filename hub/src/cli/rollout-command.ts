// `tether rollout start <version> --label role=web [--canaries N] [--max-in-flight PCT] [--follow]`,
// `tether rollout status [<rollout-id>] [--follow]`, `tether rollout resume <id>`, `tether rollout abort <id>`:
// staged rollouts of a published release (POST/GET /api/rollouts…). --follow prints each host's
// outcome as it changes until the rollout halts or is done; it exits 1 when the rollout halted or
// a host failed or was rolled back.
import type { Command } from 'commander';
import { escapeControls } from '@tether/shared/terminal-text.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { collectLabel, positiveInteger, selectorOf } from './selector-options.ts';
import type { SelectorOptions } from './selector-options.ts';
import { HubError } from './usage-error.ts';
import { printJson, printText } from './output.ts';
import { formatTable } from './table.ts';
import type { RolloutHostView, RolloutView as ListedRollout } from '@tether/shared/protocol/rollout-views.ts';

/** A rollout as the API answers it; with its hosts for one rollout. */
type RolloutView = ListedRollout & { hosts?: RolloutHostView[] };

interface FollowOptions extends AdminOptions {
  follow?: boolean;
}

const OUTCOMES = ['succeeded', 'updating', 'pending', 'failed', 'rolled_back', 'skipped'] as const;

function headline(rollout: RolloutView): string {
  const tally = OUTCOMES.map((outcome) => `${outcome} ${rollout.counts[outcome] ?? 0}`).join(', ');
  const why = rollout.halt_reason ? `\nhalted: ${rollout.halt_reason}` : '';
  return `rollout ${rollout.rollout_id}: ${rollout.version} ${rollout.state} (${rollout.phase === 'canary' ? 'canaries' : 'the rest'}); ${tally}${why}`;
}

function hostTable(hosts: readonly RolloutHostView[]): string {
  return formatTable(
    ['KEY', 'HOST', 'CANARY', 'OUTCOME', 'FROM', 'RUNS', 'DETAIL'],
    hosts.map((host) => [host.key_id, host.hostname, host.canary ? 'yes' : '', host.outcome, host.from_version, host.agent_version, host.detail]),
  );
}

function print(rollout: RolloutView, json: boolean | undefined): void {
  if (json) return printJson(rollout);
  printText(headline(rollout));
  if (rollout.hosts) printText(hostTable(rollout.hosts));
}

/** Prints host outcome changes until the rollout halts or is done; fails when it did not go cleanly. */
async function follow(client: AdminClient, first: RolloutView, json: boolean | undefined): Promise<void> {
  let latest = first;
  const seen = new Map((first.hosts ?? []).map((host) => [host.key_id, host.outcome]));
  if (!first.done && first.state !== 'halted') {
    const stop = new AbortController();
    try {
      for await (const event of client.events(`/api/rollouts/${encodeURIComponent(first.rollout_id)}/events`, stop.signal)) {
        if (event.event !== 'rollout') continue;
        latest = JSON.parse(event.data) as RolloutView;
        for (const host of latest.hosts ?? []) {
          if (seen.get(host.key_id) === host.outcome) continue;
          seen.set(host.key_id, host.outcome);
          if (!json) printText(`${host.key_id} ${host.hostname ?? ''} ${host.outcome}${host.detail ? `: ${host.detail}` : ''}`);
        }
        if (latest.done || latest.state === 'halted') break;
      }
    } finally {
      stop.abort();
    }
  }
  if (json) printJson(latest);
  else printText(headline(latest));
  const bad = (latest.counts.failed ?? 0) + (latest.counts.rolled_back ?? 0);
  if (latest.state === 'halted') throw new HubError(`rollout halted: ${escapeControls(latest.halt_reason ?? 'a host failed')}; resume it with tether rollout resume ${latest.rollout_id} or abort it`);
  if (bad > 0) throw new HubError(`${latest.counts.failed ?? 0} hosts failed, ${latest.counts.rolled_back ?? 0} rolled back`);
}

export function addRolloutCommand(program: Command): void {
  const rollout = program.command('rollout').description('staged rollouts of a published release: canaries first, then the rest, halting when a host fails');

  withAdminOptions(
    rollout.command('start').description('roll a published version out to the keys a selector picks').argument('<version>', 'the release version, as published with tether hub publish (e.g. 1.4.0)'),
  )
    .option('--label <name=value>', 'every active key carrying this label (repeatable: every one)', collectLabel)
    .option('--all', 'every active key')
    .option('--keys <ids>', 'these key ids, comma-separated')
    .option('--canaries <n>', 'hosts updated first, all at once; the rest wait for them (0 for none)', '1')
    .option('--max-in-flight <percent>', 'after the canaries, how many percent of the hosts update at once (at least one)', '10')
    .option('--host-timeout <seconds>', 'a host not back on the new version by then has failed', '900')
    .option('--follow', 'print each host as it finishes until the rollout halts or is done (exit 1 if it halted or a host failed)')
    .action(async (version: string, options: FollowOptions & SelectorOptions & { canaries: string; maxInFlight: string; hostTimeout: string }) => {
      const body = {
        version,
        selector: selectorOf(options),
        canaries: positiveInteger(options.canaries, '--canaries', 10_000, 0),
        max_in_flight_percent: positiveInteger(options.maxInFlight, '--max-in-flight', 100),
        host_timeout_s: positiveInteger(options.hostTimeout, '--host-timeout', 7 * 24 * 3600, 10),
      };
      const client = new AdminClient(options);
      const { body: started } = await client.request('POST', '/api/rollouts', body);
      if (options.follow) return follow(client, started as RolloutView, options.json);
      print(started as RolloutView, options.json);
    });

  withAdminOptions(
    rollout
      .command('status')
      .description('one rollout with every host and its outcome, or the recent rollouts')
      .argument('[rollout-id]', 'the id tether rollout start printed; without it, the recent rollouts'),
  )
    .option('--follow', 'with a rollout id: print each host as it finishes until the rollout halts or is done')
    .action(async (rolloutId: string | undefined, options: FollowOptions) => {
      const client = new AdminClient(options);
      if (rolloutId === undefined) {
        const { body } = await client.request('GET', '/api/rollouts');
        if (options.json) return printJson(body);
        const rollouts = body.rollouts as RolloutView[];
        if (rollouts.length === 0) return printText('no rollouts yet; start one with tether rollout start <version> --label name=value');
        return printText(
          formatTable(
            ['ROLLOUT', 'VERSION', 'STATE', 'HOSTS', 'SUCCEEDED', 'FAILED', 'ROLLED BACK', 'STARTED'],
            rollouts.map((r) => [r.rollout_id, r.version, r.state, r.total, r.counts.succeeded, r.counts.failed, r.counts.rolled_back, r.created_at]),
          ),
        );
      }
      const { body } = await client.request('GET', `/api/rollouts/${encodeURIComponent(rolloutId)}`);
      if (options.follow) return follow(client, body as RolloutView, options.json);
      print(body as RolloutView, options.json);
    });

  for (const [verb, description] of [
    ['resume', 'resume a halted rollout: hosts that failed stay as they are, the pending ones go on'],
    ['abort', 'abort a rollout: pending hosts are skipped; hosts already updating finish their update'],
  ] as const) {
    withAdminOptions(rollout.command(verb).description(description).argument('<rollout-id>', 'the id tether rollout start printed'))
      .option('--follow', 'then print each host as it finishes until the rollout halts or is done')
      .action(async (rolloutId: string, options: FollowOptions) => {
        const client = new AdminClient(options);
        const { body } = await client.request('POST', `/api/rollouts/${encodeURIComponent(rolloutId)}/${verb}`);
        if (options.follow) return follow(client, body as RolloutView, options.json);
        print(body as RolloutView, options.json);
      });
  }
}
