// Checkboxes for the permissions a key is granted.
export function PermissionPicker(props: { all: readonly string[]; chosen: readonly string[]; onChange(next: string[]): void }) {
  const toggle = (permission: string, on: boolean) => props.onChange(on ? [...props.chosen, permission] : props.chosen.filter((item) => item !== permission));
  return (
    <fieldset class="permissions">
      <legend>permissions</legend>
      {props.all.map((permission) => (
        <label key={permission}>
          <input type="checkbox" name="permission" value={permission} checked={props.chosen.includes(permission)} onChange={(event) => toggle(permission, event.currentTarget.checked)} />
          {permission}
        </label>
      ))}
    </fieldset>
  );
}
