// One command's form: a field per parameter, a Run button, the refusal if the hub refuses it.
import { useState } from 'preact/hooks';
import { commandData } from '../command-forms.ts';
import type { Field } from '../command-forms.ts';

export function CommandForm(props: { command: string; fields: readonly Field[]; disabled: boolean; onSend(command: string, data: Record<string, unknown>): Promise<void> }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    const data = commandData(props.fields, values);
    if (typeof data === 'string') return setError(data);
    setError('');
    try {
      await props.onSend(props.command, data);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="command" data-command={props.command} onSubmit={submit}>
      <strong>{props.command}</strong>
      {props.fields.map((field) => (
        <label key={field.name}>
          {field.name}
          {field.required ? '' : ' (optional)'}
          <input
            name={field.name}
            inputMode={field.kind === 'number' ? 'numeric' : 'text'}
            placeholder={field.hint ?? ''}
            value={values[field.name] ?? ''}
            onInput={(event) => setValues({ ...values, [field.name]: event.currentTarget.value })}
          />
        </label>
      ))}
      <button type="submit" disabled={props.disabled}>
        Run
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
