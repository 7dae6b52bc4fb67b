/**
 * The approval dialog: a program without a client secret asked the token service for one; the
 * user approves or denies it here (`?request=ID` picks the request; otherwise the oldest). Deny
 * has the focus, so that Enter never approves by accident.
 */
import type { ActionOutcome, ClientRequestView, StatusView } from '../main/shell/ipc-channels.js';
import { brokerApi, byId, clock, show } from './dom.js';

const api = brokerApi();
let wanted = new URLSearchParams(location.search).get('request');
let current: ClientRequestView | undefined;
let lastResult: ActionOutcome | undefined;
let busy = false;

function render(view: StatusView): void {
  const request = view.requests.find((r) => r.id === wanted) ?? view.requests[0];
  const changed = request?.id !== current?.id;
  current = request;
  show(byId('request'), request !== undefined);
  show(byId('empty'), request === undefined);
  if (request) {
    byId('request-text').textContent =
      `“${request.name}” asks for a client secret for your PikPak account “${request.account}”.`;
    byId('request-name').textContent = request.name;
    byId('request-account').textContent = request.account;
    byId('request-code').textContent = request.code;
    byId('request-expires').textContent = clock(request.expiresAt);
    const others = view.requests.length - 1;
    byId('more').textContent = others > 0 ? `${others} more request(s) wait after this one.` : '';
    show(byId('more'), others > 0);
    if (changed) byId('deny').focus();
  } else {
    byId('result').textContent =
      lastResult?.message ?? 'Requests appear here when a program asks the broker for access.';
    byId('result').classList.toggle('notice-error', lastResult !== undefined && !lastResult.ok);
    if (changed) byId('empty-title').focus();
  }
  document.body.dataset.ready = 'true';
}

async function decide(approve: boolean): Promise<void> {
  if (!current || busy) return;
  busy = true;
  const id = current.id;
  for (const b of ['approve', 'deny']) byId<HTMLButtonElement>(b).disabled = true;
  try {
    lastResult = approve ? await api.approveClient(id) : await api.denyClient(id);
  } catch {
    lastResult = { ok: false, message: 'The app did not answer.' };
  } finally {
    busy = false;
    for (const b of ['approve', 'deny']) byId<HTMLButtonElement>(b).disabled = false;
  }
  wanted = null;
  render(await api.getStatus());
}

byId('approve').addEventListener('click', () => void decide(true));
byId('deny').addEventListener('click', () => void decide(false));
byId('close').addEventListener('click', () => void api.closeWindow());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') void api.closeWindow();
});
api.onStatus((view) => {
  if (!busy) render(view);
});
void api.getStatus().then(render);
