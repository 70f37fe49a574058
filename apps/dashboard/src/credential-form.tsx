// Where the operator pastes the credential changes need: kept in this tab's sessionStorage, sent as a Bearer token.
import { useState } from 'preact/hooks';
import { credential } from './api';

export function CredentialForm({ onChange }: { onChange: () => void }) {
  const [draft, setDraft] = useState('');
  const [saved, setSaved] = useState(credential.get() !== '');
  const save = (e: Event) => {
    e.preventDefault();
    credential.set(draft.trim());
    setSaved(draft.trim() !== '');
    setDraft('');
    onChange();
  };
  const forget = () => {
    credential.set('');
    setSaved(false);
    onChange();
  };
  return (
    <form class="credential" onSubmit={save} aria-label="Operator credential">
      <label for="operator-token">Operator token</label>
      <input
        id="operator-token"
        type="password"
        autocomplete="off"
        placeholder={saved ? 'saved for this tab' : 'paste .data/operator-token'}
        value={draft}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Use token</button>
      <button type="button" onClick={forget} disabled={!saved}>
        Forget
      </button>
      <span data-testid="credential-state">{saved ? 'credential set' : 'no credential'}</span>
    </form>
  );
}
