// A key's secret, shown once right after it is created or regenerated, with the one-line install
// command for a host (deploy.sh served by this hub at /install.sh).
import { useState } from 'preact/hooks';

export function installLine(origin: string, key: string): string {
  return `curl -fsSL ${origin}/install.sh | bash -s -- --key ${key}`;
}

export function NewKeySecret(props: { issued: { id: string; name: string; key: string }; onDismiss(): void }) {
  const [copied, setCopied] = useState('');
  const line = installLine(location.origin, props.issued.key);
  const copy = async (text: string, what: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(`${what} copied`);
    } catch {
      setCopied('copying is not allowed here: select the text and copy it');
    }
  };
  return (
    <div class="new-key" role="status">
      <p>
        Key <strong>{props.issued.name}</strong> (<code>{props.issued.id}</code>). It is shown only now: the hub keeps only its hash.
      </p>
      <pre class="secret" data-test="new-key">
        {props.issued.key}
      </pre>
      <p>Install an agent with it on a host:</p>
      <pre class="install-line" data-test="install-line">
        {line}
      </pre>
      <button type="button" onClick={() => void copy(line, 'install line')}>
        Copy install line
      </button>
      <button type="button" onClick={() => void copy(props.issued.key, 'key')}>
        Copy key
      </button>
      <button type="button" onClick={props.onDismiss}>
        I have saved it
      </button>
      {copied && <span class="muted"> {copied}</span>}
    </div>
  );
}
