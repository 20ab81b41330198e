// Labels typed as `role=db env=prod`; parsed on blur or Enter, errors said in words.
import { useState } from 'preact/hooks';

export function labelsText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

export function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const at = word.indexOf('=');
    if (at <= 0) return `"${word}" is not name=value (e.g. role=db)`;
    labels[word.slice(0, at)] = word.slice(at + 1);
  }
  return labels;
}

export function LabelsInput(props: { value: Record<string, string> | undefined; onChange(labels: Record<string, string>): void; name?: string }) {
  const [text, setText] = useState(labelsText(props.value));
  const [error, setError] = useState('');
  const commit = () => {
    const parsed = parseLabels(text);
    if (typeof parsed === 'string') return setError(parsed);
    setError('');
    if (labelsText(parsed) !== labelsText(props.value)) props.onChange(parsed);
  };
  return (
    <span class="labels-input">
      <input
        name={props.name ?? 'labels'}
        placeholder="role=db env=prod"
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === 'Enter') {
            event.preventDefault();
            commit();
          }
        }}
        aria-label="labels"
      />
      {error && <span class="error"> {error}</span>}
    </span>
  );
}
