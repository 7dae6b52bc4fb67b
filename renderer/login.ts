/**
 * The login window: first sign-in of an account, or a new sign-in after PikPak rejected its token
 * (`?account=NAME`). When PikPak asks for a captcha, the main process shows the challenge in a
 * window of its own and hands back the token, and the sign-in continues with it.
 */
import type { Platform } from '../main/pikpak/protocol.js';
import type { LoginForm, LoginOutcome } from '../main/shell/ipc-channels.js';
import { brokerApi, byId, show } from './dom.js';

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** PikPak may ask again after a solved captcha; more rounds than this means something is wrong. */
const MAX_CAPTCHA_ROUNDS = 2;

const api = brokerApi();
const form = byId<HTMLFormElement>('login-form');
const account = byId<HTMLInputElement>('account');
const username = byId<HTMLInputElement>('username');
const password = byId<HTMLInputElement>('password');
const platform = byId<HTMLSelectElement>('platform');
const remember = byId<HTMLInputElement>('remember');
const submit = byId<HTMLButtonElement>('submit');
const progress = byId('progress');
const progressText = byId('progress-text');
const error = byId('error');

function setBusy(text: string | undefined): void {
  const busy = text !== undefined;
  show(progress, busy);
  if (text !== undefined) progressText.textContent = text;
  for (const control of [username, password, platform, remember, submit]) control.disabled = busy;
  account.disabled = busy || account.readOnly;
  form.setAttribute('aria-busy', String(busy));
}

function showError(message: string | undefined, focus?: HTMLElement): void {
  error.textContent = message ?? '';
  show(error, message !== undefined);
  if (focus) focus.focus();
}

/** Checks the form; marks the first bad field and returns undefined when something is missing. */
function readForm(): LoginForm | undefined {
  const problems: [HTMLInputElement, string][] = [];
  if (!ACCOUNT_NAME.test(account.value.trim()))
    problems.push([account, 'Choose an account name of letters, digits, “.”, “_” or “-”.']);
  if (!username.value.trim()) problems.push([username, 'Enter your PikPak user name.']);
  if (!password.value) problems.push([password, 'Enter your PikPak password.']);
  for (const input of [account, username, password])
    input.setAttribute('aria-invalid', String(problems.some(([bad]) => bad === input)));
  const first = problems[0];
  if (first) {
    showError(first[1], first[0]);
    return undefined;
  }
  return {
    account: account.value.trim(),
    username: username.value.trim(),
    password: password.value,
    platform: platform.value as Platform,
    rememberPassword: remember.checked,
  };
}

async function signIn(details: LoginForm): Promise<LoginOutcome> {
  let outcome = await api.login(details);
  for (let round = 0; !outcome.ok && outcome.code === 'captcha_required' && outcome.url; round++) {
    if (round === MAX_CAPTCHA_ROUNDS)
      return { ok: false, code: 'rejected', message: 'PikPak keeps asking for a captcha. Try again later.' };
    setBusy('PikPak asks for a safety check: complete it in the window that just opened…');
    const captcha = await api.solveCaptcha(outcome.url);
    if (!captcha.ok) return { ok: false, code: 'rejected', message: captcha.message };
    setBusy('Safety check done; signing in…');
    outcome = await api.login({ ...details, captchaToken: captcha.token });
  }
  return outcome;
}

async function onSubmit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  showError(undefined);
  const details = readForm();
  if (!details) return;
  setBusy('Signing in…');
  let outcome: LoginOutcome;
  try {
    outcome = await signIn(details);
  } catch {
    outcome = { ok: false, code: 'failed', message: 'The app did not answer. Try again.' };
  }
  setBusy(undefined);
  if (outcome.ok) {
    password.value = '';
    show(form, false);
    byId('done-text').textContent = outcome.message;
    show(byId('done'), true);
    byId('done-title').focus();
    return;
  }
  const focus =
    outcome.code === 'invalid' || outcome.code === 'conflict'
      ? account.readOnly
        ? username
        : account
      : password;
  showError(outcome.message, focus);
}

/** `?account=NAME`: sign an existing account in again; its details are filled in and fixed. */
async function prefill(): Promise<void> {
  const name = new URLSearchParams(location.search).get('account');
  if (!name) {
    account.focus();
    return;
  }
  account.value = name;
  account.readOnly = true;
  byId('title').textContent = `Sign in again: ${name}`;
  document.title = `Sign in again: ${name}`;
  show(byId('intro'), false);
  const status = await api.getStatus();
  const known = status.accounts.find((a) => a.name === name);
  if (known) {
    username.value = known.username;
    username.readOnly = true;
    platform.value = known.platform;
    remember.checked = known.rememberPassword;
    if (known.reauth) {
      const reason = byId('reauth-reason');
      reason.textContent = known.reauth.message;
      show(reason, true);
    }
    password.focus();
  } else username.focus();
}

form.addEventListener('submit', (event) => void onSubmit(event));
byId('cancel').addEventListener('click', () => void api.closeWindow());
byId('close').addEventListener('click', () => void api.closeWindow());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && form.getAttribute('aria-busy') !== 'true') void api.closeWindow();
});
void prefill();
