/**
 * The status window: accounts with their health, programs asking for access, clients, the AList
 * bridge and its setup text, recent events and two settings. It renders whatever the main process
 * pushes (`onStatus`); a section is rebuilt only when its data changed, and keyboard focus stays
 * on the control it was on.
 */
import type { ActionOutcome, StatusView } from '../main/shell/ipc-channels.js';
import { brokerApi, byId, dateTime, el, healthBadge, relative, show } from './dom.js';

const api = brokerApi();
let status: StatusView | undefined;
let receivedAt = 0;
const rendered = new Map<string, string>();

/** The main process's clock, moved on by the time since its last update. */
const now = (): number => (status ? status.now + (Date.now() - receivedAt) : Date.now());

function say(outcome: ActionOutcome): void {
  const message = byId('message');
  message.textContent = outcome.message;
  message.classList.toggle('toast-error', !outcome.ok);
}

function act(button: HTMLButtonElement, run: () => Promise<ActionOutcome>): void {
  button.disabled = true;
  run()
    .then(say)
    .catch(() => say({ ok: false, message: 'The app did not answer.' }))
    .finally(() => {
      if (button.isConnected) button.disabled = false;
    });
}

/** Rebuilds a section when its data changed, keeping focus on the control with the same key. */
function section(name: string, data: unknown, build: () => void): void {
  const key = JSON.stringify(data);
  if (rendered.get(name) === key) return;
  rendered.set(name, key);
  const focused = (document.activeElement as HTMLElement | null)?.dataset.key;
  build();
  if (focused) document.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

function button(
  label: string,
  key: string,
  onClick: (self: HTMLButtonElement) => void,
  primary = false,
): HTMLButtonElement {
  const node = el(
    'button',
    { type: 'button', 'data-key': key, class: primary ? 'primary' : undefined },
    label,
  );
  node.addEventListener('click', () => onClick(node));
  return node;
}

function renderSummary(view: StatusView): void {
  section('summary', [view.health, view.headline, view.keychain, view.core], () => {
    const headline = byId('headline');
    headline.replaceChildren(healthBadge(view.health, view.headline));
    byId('keychain').textContent = view.keychain.available
      ? `Secrets are kept in: ${view.keychain.description}.`
      : `Keychain unavailable (${view.keychain.problem ?? view.keychain.description}): tokens are held in memory only.`;
  });
}

function renderAccounts(view: StatusView): void {
  const minute = Math.floor(now() / 30_000);
  section('accounts', [view.accounts, minute], () => {
    const list = byId('accounts');
    list.replaceChildren(
      ...view.accounts.map((a) => {
        const actions = el('div', { class: 'buttons' });
        if (a.state === 'healthy' || a.state === 'retrying')
          actions.append(
            button('Refresh now', `refresh:${a.name}`, (self) => act(self, () => api.refreshNow(a.name))),
          );
        if (a.state === 'reauth-required' || a.state === 'signed-out')
          actions.append(
            button(
              'Sign in again…',
              `relogin:${a.name}`,
              (self) => act(self, () => api.openLogin(a.name)),
              true,
            ),
          );
        return el(
          'li',
          { class: `card health-border-${a.health}`, 'aria-label': `Account ${a.name}` },
          el('div', { class: 'card-head' }, el('h3', {}, a.name), healthBadge(a.health)),
          el('p', { class: 'meta' }, `${a.username} · ${a.platform} · device ${a.deviceId.slice(0, 8)}…`),
          a.reauth ? el('p', { class: 'notice notice-error' }, a.reauth.message) : el('p', {}, a.description),
          el(
            'dl',
            { class: 'facts' },
            el('dt', {}, 'Access token'),
            el(
              'dd',
              {},
              a.accessExpiresAt === undefined ? 'none' : `expires ${relative(a.accessExpiresAt, now())}`,
            ),
            el('dt', {}, 'Last refresh'),
            el('dd', {}, a.lastRefreshAt === undefined ? 'never' : relative(a.lastRefreshAt, now())),
          ),
          actions,
        );
      }),
    );
    show(byId('no-accounts'), view.accounts.length === 0 && view.core.state === 'running');
  });
}

function renderRequests(view: StatusView): void {
  section('requests', view.requests, () => {
    show(byId('requests-section'), view.requests.length > 0);
    byId('requests').replaceChildren(
      ...view.requests.map((r) =>
        el(
          'li',
          { class: 'card' },
          el(
            'p',
            {},
            el('strong', {}, `“${r.name}”`),
            ` asks for a client secret for account “${r.account}”.`,
          ),
          el('p', { class: 'meta' }, `Code ${r.code} · asked ${relative(r.requestedAt, now())}`),
          el(
            'div',
            { class: 'buttons' },
            button('Deny', `deny:${r.id}`, (self) => act(self, () => api.denyClient(r.id))),
            button('Approve', `approve:${r.id}`, (self) => act(self, () => api.approveClient(r.id)), true),
          ),
        ),
      ),
    );
  });
}

function renderClients(view: StatusView): void {
  section('clients', view.clients, () => {
    byId('clients').replaceChildren(
      ...view.clients.map((c) => {
        const revoke = button('Revoke', `revoke:${c.name}`, (self) => {
          // Two steps: the first click asks, the second (within 5 s) revokes.
          if (self.dataset.armed !== 'true') {
            self.dataset.armed = 'true';
            self.textContent = `Revoke “${c.name}”?`;
            self.classList.add('danger');
            setTimeout(() => {
              self.dataset.armed = 'false';
              self.textContent = 'Revoke';
              self.classList.remove('danger');
            }, 5000);
            return;
          }
          act(self, () => api.revokeClient(c.name));
        });
        return el(
          'tr',
          {},
          el('th', { scope: 'row' }, c.name),
          el('td', {}, c.accounts.includes('*') ? 'all accounts' : c.accounts.join(', ')),
          el('td', {}, c.lastUsedAt === undefined ? 'never' : dateTime(c.lastUsedAt)),
          el('td', {}, revoke),
        );
      }),
    );
    show(byId('clients-table'), view.clients.length > 0);
    show(byId('no-clients'), view.clients.length === 0);
  });
}

function renderBridge(view: StatusView): void {
  section('bridge', [view.bridge, view.alistSetup], () => {
    byId('bridge').replaceChildren(
      healthBadge(
        view.bridge.state === 'running' ? 'ok' : view.bridge.state === 'failed' ? 'error' : 'idle',
        view.bridge.state === 'running'
          ? `Running on ${view.bridge.address ?? ''}`
          : `Bridge ${view.bridge.state}`,
      ),
      ' ',
      view.bridge.message,
    );
    byId('alist-setup').textContent = view.alistSetup;
  });
}

function renderTimeline(view: StatusView): void {
  section('timeline', view.timeline, () => {
    byId('timeline').replaceChildren(
      ...view.timeline.map((entry) =>
        el(
          'li',
          { class: entry.health ? `health-text-${entry.health}` : undefined },
          el('time', { datetime: new Date(entry.at).toISOString() }, dateTime(entry.at)),
          entry.account ? el('span', { class: 'account' }, entry.account) : null,
          el('span', { class: 'text' }, entry.text),
        ),
      ),
    );
  });
}

function renderSettings(view: StatusView): void {
  byId<HTMLInputElement>('start-at-login').checked = view.settings.startAtLogin;
  byId<HTMLInputElement>('notifications').checked = view.settings.notifications;
}

function render(view: StatusView): void {
  status = view;
  receivedAt = Date.now();
  renderSummary(view);
  renderAccounts(view);
  renderRequests(view);
  renderClients(view);
  renderBridge(view);
  renderTimeline(view);
  renderSettings(view);
  document.body.dataset.ready = 'true';
}

byId('add-account').addEventListener('click', () => void api.openLogin(null));
byId<HTMLButtonElement>('copy-setup').addEventListener('click', (event) =>
  act(event.currentTarget as HTMLButtonElement, () => api.copyAlistSetup()),
);
for (const [id, call] of [
  ['start-at-login', (on: boolean) => api.setStartAtLogin(on)],
  ['notifications', (on: boolean) => api.setNotifications(on)],
] as const) {
  const box = byId<HTMLInputElement>(id);
  box.addEventListener('change', () => {
    void call(box.checked).then(say);
  });
}
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') void api.closeWindow();
});
setInterval(() => status && renderAccounts(status), 30_000);
api.onStatus(render);
void api.getStatus().then(render);
