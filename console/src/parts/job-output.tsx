// A command's live output (job_output lines, progress) and its result, from the command's event
// stream, with a Cancel button while it runs.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { useCommandStream } from '../live.ts';

export function JobOutput(props: { commandId: string; onFinished?: () => void }) {
  const stream = useCommandStream(props.commandId);
  const finished = stream.result !== null;
  useEffect(() => {
    if (finished) props.onFinished?.();
  }, [finished]);
  const lines = stream.events.filter((event) => event.type === 'job_output');
  const progress = stream.events.filter((event) => event.type === 'job_progress').at(-1);
  const accepted = stream.events.some((event) => event.type === 'job_accepted');
  const status = stream.result ? stream.result.status : accepted ? 'running' : 'queued';
  const [cancel, setCancel] = useState('');
  const requestCancel = async () => {
    setCancel('cancelling…');
    try {
      await api('POST', `/api/commands/${encodeURIComponent(props.commandId)}/cancel`, {});
      setCancel('cancel sent; waiting for the agent to stop the job');
    } catch (failure) {
      setCancel((failure as Error).message);
    }
  };
  return (
    <div class="job" data-command-id={props.commandId} data-status={status}>
      <h2>
        Command <code>{props.commandId}</code>: <span class="job-status">{status}</span>
      </h2>
      {!stream.result && (
        <button type="button" class="danger" onClick={requestCancel} data-test="cancel">
          Cancel
        </button>
      )}
      {cancel && !stream.result && <span class="muted"> {cancel}</span>}
      {progress && (
        <progress max={100} value={progress.progress ?? 0}>
          {progress.progress} %
        </progress>
      )}
      {lines.length > 0 && <pre class="output">{lines.map((event) => `${event.stream === 'stderr' ? '! ' : ''}${event.line ?? ''}\n`).join('')}</pre>}
      {stream.result && <pre class="result">{JSON.stringify(stream.result.result, null, 2)}</pre>}
    </div>
  );
}
