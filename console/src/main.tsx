// The console's entry: asks the hub whether this browser is signed in, then shows the sign-in
// form or the pages (Fleet, Host, History, Backups, Rollouts, Keys, Audit, Operators) under one navigation bar.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, whenSignedOut } from './api.ts';
import type { ConsoleSessionView } from './api.ts';
import { useRoute } from './router.ts';
import { SignIn } from './pages/sign-in.tsx';
import { Fleet } from './pages/fleet.tsx';
import { Host } from './pages/host.tsx';
import { Keys } from './pages/keys.tsx';
import { Backups } from './pages/backups.tsx';
import { History } from './pages/history.tsx';
import { Audit } from './pages/audit.tsx';
import { Operators } from './pages/operators.tsx';
import { Rollouts } from './pages/rollouts.tsx';
import './style.css';

type SessionState = { kind: 'checking' } | { kind: 'signed-out'; reason?: string } | { kind: 'signed-in'; expiresAt: string; operator: string | null };

function App() {
  const [session, setSession] = useState<SessionState>({ kind: 'checking' });
  const route = useRoute();

  const signedIn = (answer: ConsoleSessionView) => {
    setCsrfToken(answer.csrf_token);
    setSession({ kind: 'signed-in', expiresAt: answer.expires_at, operator: answer.operator });
  };
  useEffect(() => {
    whenSignedOut(() => setSession((before) => (before.kind === 'signed-in' ? { kind: 'signed-out', reason: 'Your session has ended. Sign in again.' } : before)));
    api<ConsoleSessionView>('GET', '/api/console/session').then(signedIn, () => setSession({ kind: 'signed-out' }));
  }, []);

  if (session.kind === 'checking') return <p class="muted">Loading…</p>;
  if (session.kind === 'signed-out') return <SignIn reason={session.reason} onSignedIn={signedIn} />;

  const signOut = async () => {
    await api('DELETE', '/api/console/session').catch(() => undefined);
    setCsrfToken('');
    setSession({ kind: 'signed-out', reason: 'Signed out.' });
  };
  return (
    <>
      <header>
        <strong class="brand">tether</strong>
        <nav>
          <a href="#/fleet" class={route.page === 'fleet' || route.page === 'host' ? 'active' : ''}>
            Fleet
          </a>
          <a href="#/history" class={route.page === 'history' ? 'active' : ''}>
            History
          </a>
          <a href="#/backups" class={route.page === 'backups' ? 'active' : ''}>
            Backups
          </a>
          <a href="#/rollouts" class={route.page === 'rollouts' ? 'active' : ''}>
            Rollouts
          </a>
          <a href="#/keys" class={route.page === 'keys' ? 'active' : ''}>
            Keys
          </a>
          <a href="#/audit" class={route.page === 'audit' ? 'active' : ''}>
            Audit
          </a>
          <a href="#/operators" class={route.page === 'operators' ? 'active' : ''}>
            Operators
          </a>
        </nav>
        <span class="muted" title={`session ends ${session.expiresAt}`} data-test="signed-in-as">
          {session.operator ? `signed in as ${session.operator}` : 'signed in with the admin token'}
        </span>
        <button type="button" onClick={signOut} data-test="sign-out">
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'fleet' && <Fleet />}
        {route.page === 'host' && <Host keyId={route.keyId} />}
        {route.page === 'keys' && <Keys />}
        {route.page === 'backups' && <Backups />}
        {route.page === 'history' && <History />}
        {route.page === 'audit' && <Audit />}
        {route.page === 'operators' && <Operators />}
        {route.page === 'rollouts' && <Rollouts rolloutId={route.rolloutId} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
